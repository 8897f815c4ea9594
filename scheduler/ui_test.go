package scheduler

import (
	"net/http"
	"strings"
	"testing"
)

// The scheduler serves the web UI without a token (the page asks for it),
// with content types and no-cache, next to the API that needs one; without
// a coordinator GET /v1/shards answers an API error, not a page.
func TestUIServed(t *testing.T) {
	f := newAPIFixture(t)
	for path, ctype := range map[string]string{"/": "text/html", "/index.html": "", "/app.js": "javascript", "/style.css": "text/css"} {
		resp, err := http.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if path == "/index.html" { // the file server redirects it to ./
			if resp.Request.URL.Path != "/" || resp.StatusCode != 200 {
				t.Errorf("%s: HTTP %d at %s", path, resp.StatusCode, resp.Request.URL.Path)
			}
			continue
		}
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), ctype) || resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: HTTP %d %q cache %q, want 200 %s no-cache", path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), ctype)
		}
	}
	if resp, err := http.Get(f.srv.URL + "/nothing.js"); err != nil || resp.StatusCode != 404 {
		t.Errorf("a missing file: %v %v", resp, err)
	}
	if code, m := f.call("GET", "/v1/shards", "", false); code != 401 || m["error"] == nil {
		t.Errorf("/v1/shards without a token: %d %v", code, m)
	}
	if code, m := f.call("GET", "/v1/shards", "", true); code < 400 || m["error"] == nil {
		t.Errorf("/v1/shards without a running coordinator: %d %v", code, m)
	}
}
