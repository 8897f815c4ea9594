package mesoslocal

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	mesostime "github.com/mesos/mesos-go/api/v1/lib/time"
)

func TestParseResources(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{in: "cpus:4;mem:8192;disk:20480;ports:[31000-32000]", want: "cpus:4;mem:8192;disk:20480;ports:[31000-32000]"},
		{in: "cpus:0.5, mem:128", want: "cpus:0.5;mem:128"},
		{in: "ports:[1-2,5-6, 3-4]", want: "ports:[1-6]"},
		{in: "cpus(eng):1;cpus:2", want: "cpus(reservations: [(STATIC,eng)]):1;cpus:2"},
		{in: "cpus(*):1", want: "cpus:1"},
		{in: "gpus:0;cpus:1", want: "cpus:1"},
		{in: "names:{a,b}", want: "names:{a,b}"},
		{in: `[{"name":"cpus","type":"SCALAR","scalar":{"value":2}}]`, want: "cpus:2"},
		{in: "", want: ""},
		{in: "cpus", err: true},
		{in: "cpus:-1", err: true},
		{in: "cpus:NaN", err: true},
		{in: "cpus:abc", err: true},
		{in: "ports:[5-1]", err: true},
		{in: "ports:[1-2", err: true},
		{in: "cpus(:1", err: true},
		{in: "cpus():1", err: true},
		{in: ":1", err: true},
		{in: "[not json", err: true},
	} {
		rs, err := ParseResources(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadResources) {
				t.Errorf("%q: err %v, want ErrBadResources", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := rs.String(); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseAttributes(t *testing.T) {
	attrs, err := ParseAttributes("rack:r1; zone:a;weight:2.5;ports:[1-3];tags:{x,y}")
	if err != nil {
		t.Fatal(err)
	}
	types := []mesos.Value_Type{mesos.TEXT, mesos.TEXT, mesos.SCALAR, mesos.RANGES, mesos.SET}
	for i, a := range attrs {
		if a.Type != types[i] {
			t.Errorf("%s: type %s want %s", a.Name, a.Type, types[i])
		}
	}
	if _, err := ParseAttributes("novalue"); !errors.Is(err, ErrBadResources) {
		t.Fatalf("err %v", err)
	}
}

func TestStoutDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		5 * time.Second: "5secs", 15 * time.Minute: "15mins", 2 * time.Second: "2secs", 90 * time.Second: "90secs",
		time.Minute: "1mins", 250 * time.Millisecond: "250ms", 3 * time.Hour: "3hrs", 48 * time.Hour: "2days",
		14 * 24 * time.Hour: "2weeks", 1500 * time.Nanosecond: "1500ns", 0: "0ns", 7 * time.Microsecond: "7us",
	} {
		got := stoutDuration(d)
		if got != want {
			t.Errorf("%v: %q want %q", d, got, want)
		}
		// mesos-go's parser must read it back.
		if back, err := mesostime.ParseDuration(got); err != nil || back != d {
			t.Errorf("%q parses to %v, %v", got, back, err)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		accept []string
		want   string
	}{
		{nil, mediaJSON},
		{[]string{"*/*"}, mediaJSON},
		{[]string{"application/*"}, mediaJSON},
		{[]string{mediaProtobuf}, mediaProtobuf},
		{[]string{mediaProtobuf, mediaProtobuf}, mediaProtobuf},
		{[]string{mediaJSON, mediaJSON}, mediaJSON},
		{[]string{"application/json;q=0, application/x-protobuf"}, mediaProtobuf},
		{[]string{"text/html"}, ""},
		{[]string{"application/json;q=0"}, ""},
	} {
		h := http.Header{}
		for _, a := range tc.accept {
			h.Add("Accept", a)
		}
		if got := negotiate(h); got != tc.want {
			t.Errorf("%v: %q want %q", tc.accept, got, tc.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{AgentCount: 3}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"ports:[31000-31999]", "ports:[32000-32999]", "ports:[33000-33999]"} {
		a := cfg.Agents[i]
		if !strings.HasSuffix(a.Resources, want) || a.IP != "127.0.1."+string(rune('1'+i)) || a.Hostname != a.IP {
			t.Errorf("agent %d: %+v", i, a)
		}
	}
	lo, hi := defaultPorts(99, 100)
	if hi > 65535 || lo <= 31000 {
		t.Errorf("100 agents: last range %d-%d", lo, hi)
	}
	if _, err := (Config{AgentBaseIP: "nope"}).withDefaults(); !errors.Is(err, ErrBadConfig) {
		t.Errorf("bad base ip: %v", err)
	}
	if _, err := (Config{Agents: []AgentSpec{{Name: "x"}, {Name: "x"}}}).withDefaults(); !errors.Is(err, ErrBadConfig) {
		t.Errorf("duplicate names: %v", err)
	}
	if _, err := (Config{Agents: []AgentSpec{{Resources: "cpus:x"}}}).withDefaults(); !errors.Is(err, ErrBadConfig) {
		t.Errorf("bad resources: %v", err)
	}
}

func TestValidateID(t *testing.T) {
	for id, ok := range map[string]bool{"a": true, "task-1.x_y": true, "": false, ".": false, "..": false, "a/b": false,
		"a\\b": false, "a\nb": false, strings.Repeat("x", 256): false} {
		if err := validateID(id); (err == nil) != ok {
			t.Errorf("%q: %v", id, err)
		}
	}
}

func TestFetcher(t *testing.T) {
	src := t.TempDir()
	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: "pkg/run.sh", Mode: 0o755, Size: 2, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("ok"))
	tw.Close()
	gz.Close()
	_ = os.WriteFile(filepath.Join(src, "bundle.tgz"), tgz.Bytes(), 0o644)
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("z/inside.txt")
	_, _ = w.Write([]byte("zip"))
	zw.Close()
	_ = os.WriteFile(filepath.Join(src, "bundle.zip"), zb.Bytes(), 0o644)
	_ = os.WriteFile(filepath.Join(src, "tool"), []byte("#!/bin/sh\n"), 0o644)
	var evil bytes.Buffer
	etw := tar.NewWriter(&evil)
	_ = etw.WriteHeader(&tar.Header{Name: "../escape", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	_, _ = etw.Write([]byte("x"))
	etw.Close()
	_ = os.WriteFile(filepath.Join(src, "evil.tar"), evil.Bytes(), 0o644)
	srv := httptest.NewServer(http.FileServer(http.Dir(src)))
	defer srv.Close()
	cfg, _ := Config{FrameworksHome: src}.withDefaults()
	sandbox := t.TempDir()
	uris := []mesos.CommandInfo_URI{
		{Value: srv.URL + "/bundle.tgz"},
		{Value: "file://" + filepath.Join(src, "bundle.zip")},
		{Value: filepath.Join(src, "tool"), Executable: proto.Bool(true), OutputFile: proto.String("bin/tool")},
		{Value: "bundle.zip", Extract: proto.Bool(false), OutputFile: proto.String("kept.zip")},
	}
	if err := fetchAll(cfg, uris, sandbox); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"pkg/run.sh": "ok", "z/inside.txt": "zip", "bin/tool": "#!/bin/sh\n"} {
		if b, err := os.ReadFile(filepath.Join(sandbox, p)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(sandbox, "bin/tool")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("executable bit: %v %v", fi.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(sandbox, "kept.zip")); err != nil {
		t.Errorf("not extracted file missing: %v", err)
	}
	for _, bad := range []mesos.CommandInfo_URI{
		{Value: srv.URL + "/missing"},
		{Value: "file:///no/such"},
		{Value: "ftp://x/y"},
		{Value: filepath.Join(src, "evil.tar")},
		{Value: filepath.Join(src, "tool"), OutputFile: proto.String("../../out")},
	} {
		if err := fetchAll(cfg, []mesos.CommandInfo_URI{bad}, t.TempDir()); !errors.Is(err, ErrFetch) {
			t.Errorf("%s: err %v, want ErrFetch", bad.Value, err)
		}
	}
}

func TestResourceConversion(t *testing.T) {
	r := scalar("cpus", 1)
	r.Role = proto.String("eng")
	r.Reservation = &mesos.Resource_ReservationInfo{Principal: proto.String("p")}
	in := toInternal(r)
	if in.Role != nil || in.Reservation != nil || len(in.Reservations) != 1 || in.Reservations[0].GetType() != mesos.Resource_ReservationInfo_DYNAMIC {
		t.Fatalf("internal %v", in)
	}
	pre := forFramework(mesos.Resources{in}, "eng", false, false)[0]
	if pre.GetRole() != "eng" || pre.Reservation.GetPrincipal() != "p" || pre.AllocationInfo != nil {
		t.Fatalf("pre-refinement %v", pre)
	}
	post := forFramework(mesos.Resources{in}, "eng", true, true)[0]
	if post.Role != nil || post.AllocationInfo.GetRole() != "eng" {
		t.Fatalf("post-refinement %v", post)
	}
	unres := forFramework(mesos.Resources{scalar("mem", 1)}, "*", false, false)[0]
	if unres.GetRole() != "*" || unres.Role == nil {
		t.Fatalf("unreserved pre-refinement %v", unres)
	}
	if !containsAll(mesos.Resources{scalar("cpus", 2)}, mesos.Resources{scalar("cpus", 1), scalar("cpus", 1)}) ||
		containsAll(mesos.Resources{scalar("cpus", 1)}, mesos.Resources{scalar("cpus", 1), scalar("cpus", 1)}) {
		t.Fatal("containsAll counts quantities")
	}
}
