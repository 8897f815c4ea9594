package agency

import (
	"net/http"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are an agent's Prometheus metrics, served at /_admin/metrics:
// whether it leads, how far its log, commit and apply have come, and how
// long the steps of a write take — the log append (a bbolt commit, on
// leader and followers alike) and, on the leader, a write from proposal to
// applied — with how many write requests went into one log entry.
type metrics struct {
	reg      *prometheus.Registry
	appends  prometheus.Histogram
	appended prometheus.Counter
	apply    prometheus.Histogram
	requests prometheus.Histogram
}

// newMetrics registers a's metrics. Gauges read a.raft when scraped; they
// are 0 until Raft runs.
func newMetrics(a *Agent) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	latency := prometheus.ExponentialBuckets(0.0001, 2, 16) // 0.1 ms … 3.3 s
	m.appends = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "arangomesos_agency_log_append_duration_seconds",
		Help: "Time to append entries to the Raft log on disk (one bbolt commit).", Buckets: latency})
	m.appended = prometheus.NewCounter(prometheus.CounterOpts{Name: "arangomesos_agency_log_entries_appended_total",
		Help: "Raft log entries appended to this agent's log."})
	m.apply = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "arangomesos_agency_apply_duration_seconds",
		Help:    "On the leader, time from proposing a log entry to its being applied (append, replication to a quorum, apply).",
		Buckets: latency})
	m.requests = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "arangomesos_agency_write_requests_per_entry",
		Help: "Write requests that went into one Raft log entry (group commit).", Buckets: prometheus.ExponentialBuckets(1, 2, 9)})
	raftGauge := func(name, help string, value func(r *raft.Raft) float64) prometheus.GaugeFunc {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			if a.raft == nil {
				return 0
			}
			return value(a.raft)
		})
	}
	m.reg.MustRegister(m.appends, m.appended, m.apply, m.requests,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "arangomesos_agency_leader",
			Help: "1 while this agent is the Agency's ready leader, else 0."}, func() float64 {
			if a.raft != nil && a.IsLeader() {
				return 1
			}
			return 0
		}),
		raftGauge("arangomesos_agency_last_log_index", "Index of the last entry in this agent's Raft log.",
			func(r *raft.Raft) float64 { return float64(r.LastIndex()) }),
		raftGauge("arangomesos_agency_commit_index", "Highest Raft index this agent knows to be committed.",
			func(r *raft.Raft) float64 { return float64(r.CommitIndex()) }),
		raftGauge("arangomesos_agency_applied_index", "Highest Raft index applied to this agent's store.",
			func(r *raft.Raft) float64 { return float64(r.AppliedIndex()) }),
		raftGauge("arangomesos_agency_last_contact_seconds",
			"Seconds since a follower last heard from its leader (0 on the leader, -1 before any contact).",
			func(r *raft.Raft) float64 {
				if r.State() == raft.Leader {
					return 0
				}
				t := r.LastContact()
				if t.IsZero() {
					return -1
				}
				return time.Since(t).Seconds()
			}),
		raftGauge("arangomesos_agency_voters", "Voting agents in the Raft configuration this agent knows.",
			func(r *raft.Raft) float64 {
				f := r.GetConfiguration()
				if f.Error() != nil {
					return 0
				}
				n := 0
				for _, s := range f.Configuration().Servers {
					if s.Suffrage == raft.Voter {
						n++
					}
				}
				return float64(n)
			}),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return m
}

// MetricsHandler serves the agent's Prometheus metrics (GET
// /_admin/metrics).
func (a *Agent) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(a.metrics.reg, promhttp.HandlerOpts{})
}

// timedLogStore is the Raft log store with its appends timed and counted.
type timedLogStore struct {
	raft.LogStore
	m *metrics
}

func (s timedLogStore) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

func (s timedLogStore) StoreLogs(logs []*raft.Log) error {
	start := time.Now()
	err := s.LogStore.StoreLogs(logs)
	if err == nil {
		s.m.appends.Observe(time.Since(start).Seconds())
		s.m.appended.Add(float64(len(logs)))
	}
	return err
}
