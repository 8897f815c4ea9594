package scheduler

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// metrics are the scheduler's Prometheus metrics: counters of what it did,
// and gauges computed from its state when scraped.
type metrics struct {
	reg        *prometheus.Registry
	offers     *prometheus.CounterVec // by outcome: received, accepted, declined, held
	events     *prometheus.CounterVec // by event kind (relaunch, replace, scale, autoscale, …)
	tasks      *prometheus.Desc
	desired    *prometheus.Desc
	agencyUp   *prometheus.Desc
	healthCode *prometheus.Desc
	s          *Scheduler

	// autoscaleDecisions counts the autoscaler's steps by role, direction
	// and result (applied, refused); autoscaleObserved is the latest value
	// of every autoscale metric by role.
	autoscaleDecisions *prometheus.CounterVec
	autoscaleObserved  *prometheus.GaugeVec
}

func newMetrics(s *Scheduler) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), s: s,
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "arangomesos", Name: "offers_total",
			Help: "Mesos offers by outcome: received, accepted, declined, held."}, []string{"outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "arangomesos", Name: "events_total",
			Help: "Scheduler events by kind: launch, running, failed, relaunch, lost, replace, scale, autoscale, removed, kill."}, []string{"kind"}),
		tasks:      prometheus.NewDesc("arangomesos_tasks", "Members by role and Mesos task state.", []string{"role", "state"}, nil),
		desired:    prometheus.NewDesc("arangomesos_members_desired", "Desired members by role.", []string{"role"}, nil),
		agencyUp:   prometheus.NewDesc("arangomesos_agency_up", "1 when the Agency answers.", nil, nil),
		healthCode: prometheus.NewDesc("arangomesos_health_code", "HTTP code of /v1/health (200 healthy).", nil, nil),
	}
	m.autoscaleDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "arangomesos", Name: "autoscale_decisions_total",
		Help: "Autoscaler steps by role (coordinators, dbservers), direction (up, down) and result (applied, refused)."}, []string{"role", "direction", "result"})
	m.autoscaleObserved = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "arangomesos", Name: "autoscale_observed",
		Help: "Latest value of each autoscale metric by role, as the autoscaler computes it from the members' metrics."}, []string{"role", "metric"})
	m.reg.MustRegister(m.autoscaleDecisions, m.autoscaleObserved)
	m.reg.MustRegister(m.offers, m.events, m, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.tasks
	ch <- m.desired
	ch <- m.agencyUp
	ch <- m.healthCode
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.s
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[[2]string]int{}
	for _, mem := range s.st.Members {
		state := mem.TaskState
		if state == "" {
			state = "NONE"
		}
		counts[[2]string{roleName(mem.Role), state}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(m.tasks, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
	for role, n := range map[cluster.Role]int{cluster.RoleAgent: s.st.Targets.Agents, cluster.RoleDBServer: s.st.Targets.DBServers,
		cluster.RoleCoordinator: s.st.Targets.Coordinators} {
		ch <- prometheus.MustNewConstMetric(m.desired, prometheus.GaugeValue, float64(n), roleName(role))
	}
	up := 0.0
	if s.view.Up {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(m.agencyUp, prometheus.GaugeValue, up)
	h := ComputeHealth(s.st, s.view, s.waiting, s.subscribed)
	ch <- prometheus.MustNewConstMetric(m.healthCode, prometheus.GaugeValue, float64(h.Code))
}

func (s *Scheduler) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}
