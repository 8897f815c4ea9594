package scheduler

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/arangomesos/arangomesos/webui"
)

// mountUI serves the web UI's static files at /.
func (s *Scheduler) mountUI(e *echo.Echo) {
	files := http.FileServer(http.FS(webui.FS()))
	e.GET("/*", echo.WrapHandler(files))
}
