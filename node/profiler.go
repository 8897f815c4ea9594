package node

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// startProfiler serves Go's profiles (net/http/pprof) on the address in
// ARANGOMESOS_PPROF, when set: for operators chasing a slow node.
func startProfiler(log *slog.Logger) {
	addr := os.Getenv("ARANGOMESOS_PPROF")
	if addr == "" {
		return
	}
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go func() { log.Warn("profiler stopped", "err", http.ListenAndServe(addr, m)) }()
}
