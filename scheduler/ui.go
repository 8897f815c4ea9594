package scheduler

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/arangomesos/arangomesos/webui"
)

// mountUI serves the web UI's static files at /. Browsers revalidate them
// (no-cache), so a new scheduler version's UI is not hidden by a cached one.
func (s *Scheduler) mountUI(e *echo.Echo) {
	files := http.FileServer(http.FS(webui.FS()))
	e.GET("/*", echo.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})))
}
