package shardapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/node/arangohttp"
	"github.com/arangomesos/arangomesos/node/cluster"
)

func TestFrameEncoding(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		path   string
		header http.Header
		body   []byte
	}{
		{"empty", "GET", "/", nil, nil},
		{"body", "POST", "/_internal/shard/s1/write", nil, []byte(`{"docs":[{"a":1}]}`)},
		{"headers", "POST", "/p", http.Header{"X-Arangomesos-Op-Id": {"abc"}, "X-Two": {"1", "2"}}, []byte("x")},
		{"binary body", "PUT", "/p", nil, []byte{0, 1, 2, 255, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := appendRequest([]byte("junk"), 42, tc.method, tc.path, tc.header, tc.body, false)
			f, err := readFrame(bufio.NewReader(bytes.NewReader(b[4:])))
			if err != nil {
				t.Fatal(err)
			}
			if f.id != 42 || f.kind != kindRequest || f.method != tc.method || f.path != tc.path || !bytes.Equal(f.body, tc.body) {
				t.Fatalf("decoded %+v", f)
			}
			for k, vs := range tc.header {
				if fmt.Sprint(f.header[k]) != fmt.Sprint(vs) {
					t.Fatalf("header %s: %v, want %v", k, f.header[k], vs)
				}
			}
			r := appendResponse(nil, 7, 503, tc.body, true)
			f, err = readFrame(bufio.NewReader(bytes.NewReader(r)))
			if err != nil || f.id != 7 || f.kind != kindResponse || f.status != 503 || !f.binary || !bytes.Equal(f.body, tc.body) {
				t.Fatalf("response decoded %+v, %v", f, err)
			}
		})
	}
}

func TestFrameMalformed(t *testing.T) {
	good := appendRequest(nil, 1, "POST", "/path", http.Header{"K": {"v"}}, []byte("body"), false)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"too short", []byte{0, 0, 0, 3, 1, 2, 3}},
		{"unknown kind", func() []byte { b := bytes.Clone(good); b[12] = 9; return b }()},
		{"path cut", func() []byte {
			b := append([]byte{0, 0, 0, 0}, good[4:4+9+1+4+1]...) // id, kind, method; path length missing a byte
			b[3] = byte(len(b) - 4)
			return b
		}()},
		{"too long", []byte{0x7f, 0xff, 0xff, 0xff}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := readFrame(bufio.NewReader(bytes.NewReader(tc.b))); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// frameTestServer serves a small API both as HTTP and over frames, behind
// the superuser check, like a DBServer.
func frameTestServer(t *testing.T, secret cluster.Secret, frames bool) (*httptest.Server, *FrameServer, *atomic.Int64) {
	var upgrades atomic.Int64
	mux := arangohttp.NewMux()
	mux.HandleFunc("POST /echo/{n}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		arangohttp.WriteJSON(w, http.StatusOK, map[string]string{"n": r.PathValue("n"), "body": string(body),
			"op": r.Header.Get(HeaderOpID)})
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, _ *http.Request) {
		arangohttp.WriteError(w, arangohttp.Errorf(http.StatusServiceUnavailable, arangohttp.ErrNumNotLeader, "not a leader"))
	})
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	mux.HandleFunc("POST /hang", func(http.ResponseWriter, *http.Request) { <-block })
	mux.HandleFunc("POST /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	fs := NewFrameServer(mux, nil)
	if frames {
		mux.Handle("GET "+PathFrames, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			upgrades.Add(1)
			fs.ServeHTTP(w, r)
		}))
	}
	srv := httptest.NewServer(arangohttp.RequireSuperuser(secret, mux))
	t.Cleanup(srv.Close)
	t.Cleanup(fs.Close)
	return srv, fs, &upgrades
}

func TestFrameCallsConcurrent(t *testing.T) {
	secret := cluster.Secret("s3cret")
	srv, _, upgrades := frameTestServer(t, secret, true)
	c := NewClient(&cluster.TokenSource{Secret: secret, ServerID: "PRMR-1"}, 5*time.Second)
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out map[string]string
			h := http.Header{}
			h.Set(HeaderOpID, fmt.Sprint("op", i))
			if err := c.Call(context.Background(), srv.URL, "POST", fmt.Sprint("/echo/", i), h, i, &out); err != nil {
				errs <- err
				return
			}
			if out["n"] != fmt.Sprint(i) || out["body"] != fmt.Sprint(i) || out["op"] != fmt.Sprint("op", i) {
				errs <- fmt.Errorf("call %d got %v", i, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := upgrades.Load(); n != 1 {
		t.Fatalf("%d connections upgraded, want 1", n)
	}
}

func TestFrameErrorAnswers(t *testing.T) {
	srv, _, _ := frameTestServer(t, nil, true)
	c := NewClient(nil, 5*time.Second)
	defer c.Close()
	err := c.Call(context.Background(), srv.URL, "POST", "/fail", nil, nil, nil)
	var ae *arangohttp.Error
	if !errors.As(err, &ae) || ae.Code != 503 || ae.Num != arangohttp.ErrNumNotLeader {
		t.Fatalf("fail: %v", err)
	}
	err = c.Call(context.Background(), srv.URL, "POST", "/panic", nil, nil, nil)
	if !errors.As(err, &ae) || ae.Code != 500 {
		t.Fatalf("panic: %v", err)
	}
	err = c.Call(context.Background(), srv.URL, "POST", "/nowhere", nil, nil, nil)
	if !errors.As(err, &ae) || ae.Code != 404 {
		t.Fatalf("unknown path: %v", err)
	}
}

func TestFrameUnauthorizedFallsBackToHTTP(t *testing.T) {
	srv, _, upgrades := frameTestServer(t, cluster.Secret("right"), true)
	c := NewClient(&cluster.TokenSource{Secret: cluster.Secret("wrong"), ServerID: "PRMR-1"}, 5*time.Second)
	defer c.Close()
	err := c.Call(context.Background(), srv.URL, "POST", "/echo/1", nil, nil, nil)
	var ae *arangohttp.Error
	if !errors.As(err, &ae) || ae.Code != http.StatusUnauthorized {
		t.Fatalf("got %v, want 401", err)
	}
	if upgrades.Load() != 0 {
		t.Fatal("an unauthorized upgrade reached the frame server")
	}
}

func TestFrameServerWithoutFrames(t *testing.T) {
	srv, _, _ := frameTestServer(t, nil, false)
	c := NewClient(nil, 5*time.Second)
	defer c.Close()
	for i := 0; i < 3; i++ {
		var out map[string]string
		if err := c.Call(context.Background(), srv.URL, "POST", "/echo/7", nil, "x", &out); err != nil || out["n"] != "7" {
			t.Fatalf("call %d: %v %v", i, out, err)
		}
	}
}

func TestFrameTimeoutAndReconnect(t *testing.T) {
	srv, fs, upgrades := frameTestServer(t, nil, true)
	c := NewClient(nil, 5*time.Second)
	defer c.Close()
	// A call that gets no answer, with nothing else arriving, times out
	// as unreachable and closes the connection.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	err := c.Call(ctx, srv.URL, "POST", "/hang", nil, nil, nil)
	cancel()
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("hang: %v", err)
	}
	if err := c.Call(context.Background(), srv.URL, "POST", "/echo/1", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := upgrades.Load(); n != 2 {
		t.Fatalf("%d upgrades, want 2 (a new connection after the silent one)", n)
	}
	// Calls waiting when the server closes its connections fail as
	// unreachable; the next call connects again.
	done := make(chan error, 1)
	go func() { done <- c.Call(context.Background(), srv.URL, "POST", "/hang", nil, nil, nil) }()
	time.Sleep(100 * time.Millisecond)
	fs.mu.Lock()
	for conn := range fs.conns {
		conn.Close()
	}
	fs.mu.Unlock()
	if err := <-done; !errors.Is(err, ErrUnreachable) {
		t.Fatalf("call on a closed connection: %v", err)
	}
	if err := c.Call(context.Background(), srv.URL, "POST", "/echo/2", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	// A closed server refuses new connections.
	fs.Close()
	srv.Close()
	if err := c.Call(context.Background(), srv.URL, "POST", "/echo/3", nil, nil, nil); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("closed server: %v", err)
	}
}

func TestFrameRequestTooLarge(t *testing.T) {
	if err := checkRequest("POST", "/"+strings.Repeat("p", 1<<16), nil, nil); err == nil {
		t.Fatal("long path accepted")
	}
	if err := checkRequest("POST", "/p", http.Header{"K": {strings.Repeat("v", 1<<16)}}, nil); err == nil {
		t.Fatal("long header accepted")
	}
	if err := checkRequest("POST", "/p", http.Header{"K": {"v"}}, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

// TestBulkCallsUseHTTP: calls whose answers can be large leave the shared
// frame connection alone, so that they never hold up writes behind them.
func TestBulkCallsUseHTTP(t *testing.T) {
	mux := arangohttp.NewMux()
	framed := func(w http.ResponseWriter, r *http.Request) {
		_, f := r.Body.(*arangohttp.MemoryBody)
		arangohttp.WriteJSON(w, http.StatusOK, map[string]bool{"framed": f})
	}
	for _, p := range []string{PathWrite, PathReplicate, PathRead, PathQuery, PathKeys, PathDocs, PathTail, PathChunks} {
		mux.HandleFunc("POST "+p, framed)
	}
	fs := NewFrameServer(mux, nil)
	mux.Handle("GET "+PathFrames, fs)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(fs.Close)
	c := NewClient(nil, 5*time.Second)
	defer c.Close()
	for _, tc := range []struct {
		path   string
		framed bool
	}{
		{PathWrite, true}, {PathReplicate, true}, {PathRead, true},
		{PathQuery, false}, {PathKeys, false}, {PathDocs, false}, {PathTail, false}, {PathChunks, false},
	} {
		var out map[string]bool
		if err := c.Call(context.Background(), srv.URL, "POST", Path(tc.path, "s1001")+"?x=1", nil, struct{}{}, &out); err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if out["framed"] != tc.framed {
			t.Errorf("%s: framed %v, want %v", tc.path, out["framed"], tc.framed)
		}
	}
	for _, p := range []string{"/_internal/shard//query", "/_internal/shard/s1/write", "/query"} {
		if bulkPath(p) {
			t.Errorf("bulkPath(%q) = true", p)
		}
	}
}
