package webui_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/arangomesos/arangomesos/webui"
)

// The files are embedded, served with their content types, and use only
// relative URLs (so the UI works under a path prefix) and no remote assets.
func TestStaticFiles(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.FS(webui.FS())))
	defer srv.Close()
	for path, ctype := range map[string]string{"/": "text/html", "/app.js": "javascript", "/style.css": "text/css"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), ctype) {
			t.Errorf("%s: HTTP %d %q, want %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), ctype)
		}
	}
	// src="/…", href='/…', fetch("/…"), fetch(`/…`), new EventSource("/…"),
	// url(/…) in CSS, and any http(s):// address.
	absolute := regexp.MustCompile(`(src|href|action)\s*=\s*["']?/|(fetch|EventSource)\(\s*["'\x60]/|url\(\s*["']?/|https?://`)
	for _, bad := range []string{`<script src="/app.js">`, `fetch('/v1/state')`, "fetch(`/v1/x`)", `new EventSource("/v1/events")`, `url(/img.png)`, `href = "/x"`} {
		if !absolute.MatchString(bad) {
			t.Errorf("the check misses %s", bad)
		}
	}
	for _, good := range []string{`<script src="app.js">`, `fetch("v1/state")`, `href="#h-members"`} {
		if absolute.MatchString(good) {
			t.Errorf("the check refuses %s", good)
		}
	}
	_ = fs.WalkDir(webui.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, _ := webui.FS().Open(path)
		b, _ := io.ReadAll(f)
		f.Close()
		if m := absolute.Find(b); m != nil {
			t.Errorf("%s uses an absolute or remote URL: %s", path, m)
		}
		return nil
	})
}
