package dbserver

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the DBServer's Prometheus metrics, served at
// /_admin/metrics; the scheduler's autoscaler reads document counts, data
// size and CPU seconds.
type metrics struct {
	reg        *prometheus.Registry
	writes     prometheus.Counter
	drops      prometheus.Counter
	resyncs    *prometheus.CounterVec
	resyncDocs *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.writes = prometheus.NewCounter(prometheus.CounterOpts{Name: "arangomesos_dbserver_writes_total",
		Help: "Write operations applied as shard leader."})
	m.drops = prometheus.NewCounter(prometheus.CounterOpts{Name: "arangomesos_dbserver_follower_drops_total",
		Help: "Followers dropped from in-sync lists by this leader."})
	m.resyncs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "arangomesos_dbserver_resyncs_total",
		Help: "Finished resynchronizations of local follower shards, by method (tail or ranges)."}, []string{"method"})
	m.resyncDocs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "arangomesos_dbserver_resync_documents_total",
		Help: "Documents moved by resynchronizations, by method."}, []string{"method"})
	docs := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "arangomesos_dbserver_documents",
		Help: "Documents stored in local shards (leaders and followers)."}, func() float64 {
		var n int64
		s.eachShard(func(sh *shard) { n += sh.store.Count() })
		return float64(n)
	})
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "arangomesos_dbserver_data_bytes",
		Help: "Bytes of document JSON stored in local shards."}, func() float64 {
		var n int64
		s.eachShard(func(sh *shard) { n += sh.store.DataSize() })
		return float64(n)
	})
	shards := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "arangomesos_dbserver_shards",
		Help: "Local shards."}, func() float64 {
		n := 0
		s.eachShard(func(*shard) { n++ })
		return float64(n)
	})
	m.reg.MustRegister(m.writes, m.drops, m.resyncs, m.resyncDocs, docs, size, shards,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (s *Server) eachShard(fn func(*shard)) {
	s.mu.Lock()
	list := make([]*shard, 0, len(s.shards))
	for _, sh := range s.shards {
		list = append(list, sh)
	}
	s.mu.Unlock()
	for _, sh := range list {
		fn(sh)
	}
}
