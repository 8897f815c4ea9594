package mesoslocal

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// fetchAll brings every URI into the sandbox, as the Mesos fetcher does:
// http(s) (with the fetch timeout), file:// and absolute paths, relative
// paths under FrameworksHome; output_file names the result; executable
// makes it 0755 and skips extraction; archives (.tar, .tar.gz, .tgz, .zip)
// are extracted when extract is set (the default). Errors wrap ErrFetch.
func fetchAll(cfg Config, uris []mesos.CommandInfo_URI, sandbox string) error {
	for _, u := range uris {
		if err := fetchOne(cfg, u, sandbox); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrFetch, u.Value, err)
		}
	}
	return nil
}

func fetchOne(cfg Config, u mesos.CommandInfo_URI, sandbox string) error {
	name := u.GetOutputFile()
	src := u.Value
	var open func() (io.ReadCloser, error)
	switch {
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		pu, err := url.Parse(src)
		if err != nil {
			return err
		}
		if name == "" {
			name = filepath.Base(pu.Path)
		}
		open = func() (io.ReadCloser, error) { return httpGet(cfg, src) }
	case strings.HasPrefix(src, "file://"):
		p := strings.TrimPrefix(src, "file://")
		if name == "" {
			name = filepath.Base(p)
		}
		open = func() (io.ReadCloser, error) { return os.Open(p) }
	case strings.Contains(src, "://"):
		return fmt.Errorf("unsupported URI scheme")
	default:
		p := src
		if !filepath.IsAbs(p) {
			if cfg.FrameworksHome == "" {
				return fmt.Errorf("relative path without a frameworks home")
			}
			p = filepath.Join(cfg.FrameworksHome, p)
		}
		if name == "" {
			name = filepath.Base(p)
		}
		open = func() (io.ReadCloser, error) { return os.Open(p) }
	}
	if name == "" || name == "." || name == "/" {
		return fmt.Errorf("cannot name the fetched file")
	}
	dst, err := safeJoin(sandbox, name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		// Download first, without holding up process starts.
		tmp, err := os.CreateTemp(sandbox, ".fetch-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		_, err = io.Copy(tmp, rc)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if rc, err = os.Open(tmp.Name()); err != nil {
			return err
		}
		defer rc.Close()
	}
	// Files that may be executed are written while no process is forked: a
	// child forked meanwhile would inherit the write descriptor until its
	// exec, and executing the file then fails with "text file busy".
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if u.GetExecutable() {
		return os.Chmod(dst, 0o755)
	}
	if u.Extract == nil || u.GetExtract() {
		return extract(dst, sandbox)
	}
	return nil
}

func httpGet(cfg Config, src string) (io.ReadCloser, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timers.FetchTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	return &cancelCloser{ReadCloser: resp.Body, cancel: cancel}, nil
}

type cancelCloser struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelCloser) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// safeJoin joins a relative name below dir, refusing escapes.
func safeJoin(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(name) {
		return "", fmt.Errorf("path %q escapes the sandbox", name)
	}
	return p, nil
}

// extract unpacks a recognised archive into dir; other files stay as they
// are.
func extract(path, dir string) error {
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, ".tar.gz") || strings.HasSuffix(lower, ".tgz"):
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("extract %s: %w", filepath.Base(path), err)
		}
		return untar(gz, dir)
	case strings.HasSuffix(lower, ".tar"):
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return untar(f, dir)
	case strings.HasSuffix(lower, ".zip"):
		return unzip(path, dir)
	}
	return nil
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("extract tar: %w", err)
		}
		dst, err := safeJoin(dir, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(dst, tr, os.FileMode(h.Mode)&0o777); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if filepath.IsAbs(h.Linkname) {
				return fmt.Errorf("absolute symlink %q in archive", h.Name)
			}
			_ = os.MkdirAll(filepath.Dir(dst), 0o755)
			_ = os.Remove(dst)
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
		}
	}
}

func unzip(path, dir string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("extract zip: %w", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		dst, err := safeJoin(dir, f.Name)
		if err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = writeFile(dst, rc, f.Mode()&0o777)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func writeFile(dst string, r io.Reader, mode os.FileMode) error {
	if mode == 0 {
		mode = 0o644
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
