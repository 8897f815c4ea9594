package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// masterEndpoint turns --master into the scheduler API URL:
//   - host:port or http(s)://host:port → …/api/v1/scheduler;
//   - zk://hosts/path → the leading master found in ZooKeeper: the member of
//     the group with the lowest sequence number (json.info_NNNNNNNNNN, whose
//     data is the master's MasterInfo as JSON). Redirects from a master that
//     stops leading are followed by the HTTP client.
func masterEndpoint(ctx context.Context, master string, log *slog.Logger) (string, error) {
	if strings.HasPrefix(master, "zk://") {
		return zkMaster(ctx, master, log)
	}
	if !strings.Contains(master, "://") {
		master = "http://" + master
	}
	u, err := url.Parse(master)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: --master %q is not host:port, http://host:port or zk://…", ErrConfig, master)
	}
	return u.Scheme + "://" + u.Host + "/api/v1/scheduler", nil
}

func zkMaster(ctx context.Context, uri string, log *slog.Logger) (string, error) {
	servers, root, err := ParseZK(uri)
	if err != nil {
		return "", err
	}
	conn, _, err := zk.Connect(servers, 10*time.Second, zk.WithLogger(zkLogger{log}))
	if err != nil {
		return "", fmt.Errorf("scheduler: zookeeper %v: %w", servers, err)
	}
	defer conn.Close()
	wait := time.Second
	for {
		ep, err := leadingMaster(conn, root)
		if err == nil {
			log.Info("found the leading Mesos master in ZooKeeper", "master", ep)
			return ep, nil
		}
		log.Warn("no leading Mesos master in ZooKeeper yet; retrying", "zk", uri, "err", err)
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("scheduler: no Mesos master found in %s: %w (last error: %v)", uri, ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}

func leadingMaster(conn *zk.Conn, root string) (string, error) {
	children, _, err := conn.Children(root)
	if err != nil {
		return "", err
	}
	var infos []string
	for _, c := range children {
		if strings.HasPrefix(c, "json.info_") {
			infos = append(infos, c)
		}
	}
	if len(infos) == 0 {
		return "", fmt.Errorf("no json.info_ member under %s", root)
	}
	sort.Strings(infos) // same-width sequence numbers sort numerically
	data, _, err := conn.Get(root + "/" + infos[0])
	if err != nil {
		return "", err
	}
	var info struct {
		Hostname string `json:"hostname"`
		Port     int    `json:"port"`
		Address  struct {
			Hostname string `json:"hostname"`
			IP       string `json:"ip"`
			Port     int    `json:"port"`
		} `json:"address"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return "", fmt.Errorf("master info: %w", err)
	}
	host, port := info.Address.Hostname, info.Address.Port
	if host == "" {
		host = info.Address.IP
	}
	if host == "" {
		host, port = info.Hostname, info.Port
	}
	if host == "" || port == 0 {
		return "", fmt.Errorf("master info without an address: %s", data)
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(port)) + "/api/v1/scheduler", nil
}
