package scheduler

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The series of the nodes' /_admin/metrics the autoscaler reads (see
// node/coordinator/metrics.go and node/dbserver/metrics.go).
const (
	seriesCoordRequests = "arangomesos_coordinator_requests_total"
	seriesCoordLatency  = "arangomesos_coordinator_request_duration_seconds"
	seriesDBDocuments   = "arangomesos_dbserver_documents"
	seriesDBDataBytes   = "arangomesos_dbserver_data_bytes"
	seriesCPUSeconds    = "process_cpu_seconds_total"
)

// bucket is one cumulative histogram bucket: Count observations were at
// most UpperBound (+Inf for the last).
type bucket struct {
	UpperBound float64
	Count      float64
}

// nodeMetrics is what the autoscaler reads from one node's metrics page.
type nodeMetrics struct {
	// Requests is a coordinator's answered client requests (a counter, all
	// methods and codes summed).
	Requests float64
	// Latency is a coordinator's request latency histogram (seconds,
	// cumulative, summed over methods, sorted by bound, ending with +Inf).
	Latency []bucket
	// Documents and DataBytes are a DBServer's stored documents and bytes
	// (gauges, followers' copies included).
	Documents, DataBytes float64
	// CPUSeconds is the node process's CPU time (a counter).
	CPUSeconds float64
}

// promSeries is one line of a Prometheus text exposition.
type promSeries struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// parseExposition reads a Prometheus text exposition (format 0.0.4): one
// series per line, `name{label="value",…} value [timestamp]`; comments and
// blank lines are skipped.
func parseExposition(r io.Reader) ([]promSeries, error) {
	var out []promSeries
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSeriesLine(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseSeriesLine(line string) (promSeries, error) {
	s := promSeries{Labels: map[string]string{}}
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, fmt.Errorf("no value in %q", line)
	}
	s.Name, line = line[:i], line[i:]
	if line[0] == '{' {
		line = line[1:]
		for {
			line = strings.TrimLeft(line, " \t,")
			if line == "" {
				return s, fmt.Errorf("unterminated labels")
			}
			if line[0] == '}' {
				line = line[1:]
				break
			}
			eq := strings.IndexByte(line, '=')
			if eq <= 0 || len(line) < eq+2 || line[eq+1] != '"' {
				return s, fmt.Errorf("bad label in %q", line)
			}
			name := strings.TrimSpace(line[:eq])
			line = line[eq+2:]
			var val strings.Builder
			closed := false
			for j := 0; j < len(line); j++ {
				c := line[j]
				if c == '\\' && j+1 < len(line) {
					j++
					switch line[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(line[j])
					}
					continue
				}
				if c == '"' {
					line, closed = line[j+1:], true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return s, fmt.Errorf("unterminated label value")
			}
			s.Labels[name] = val.String()
		}
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || len(fields) > 2 {
		return s, fmt.Errorf("want a value (and a timestamp) after %s, got %q", s.Name, line)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value of %s: %w", s.Name, err)
	}
	s.Value = v
	return s, nil
}

// readNodeMetrics picks the autoscaler's series out of a metrics page.
func readNodeMetrics(r io.Reader) (nodeMetrics, error) {
	series, err := parseExposition(r)
	if err != nil {
		return nodeMetrics{}, err
	}
	var m nodeMetrics
	buckets := map[float64]float64{}
	for _, s := range series {
		switch s.Name {
		case seriesCoordRequests:
			m.Requests += s.Value
		case seriesCoordLatency + "_bucket":
			le, err := strconv.ParseFloat(s.Labels["le"], 64)
			if err != nil {
				return nodeMetrics{}, fmt.Errorf("%s: bad le %q", s.Name, s.Labels["le"])
			}
			buckets[le] += s.Value
		case seriesDBDocuments:
			m.Documents += s.Value
		case seriesDBDataBytes:
			m.DataBytes += s.Value
		case seriesCPUSeconds:
			m.CPUSeconds += s.Value
		}
	}
	for le, n := range buckets {
		m.Latency = append(m.Latency, bucket{UpperBound: le, Count: n})
	}
	sort.Slice(m.Latency, func(i, j int) bool { return m.Latency[i].UpperBound < m.Latency[j].UpperBound })
	return m, nil
}

// counterDelta is how much a counter grew from prev to cur; a counter that
// went down was reset (its process restarted) and grew by cur since.
func counterDelta(prev, cur float64) float64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// bucketDeltas are the observations between two readings of a histogram,
// bucket by bucket (buckets of cur; a bucket missing in prev counts from
// zero). A reset (any bucket going down) makes cur itself the delta.
func bucketDeltas(prev, cur []bucket) []bucket {
	old := map[float64]float64{}
	for _, b := range prev {
		old[b.UpperBound] = b.Count
	}
	out := make([]bucket, len(cur))
	for i, b := range cur {
		if b.Count < old[b.UpperBound] {
			return append([]bucket(nil), cur...)
		}
		out[i] = bucket{UpperBound: b.UpperBound, Count: b.Count - old[b.UpperBound]}
	}
	return out
}

// addBuckets sums two cumulative histograms with the same bounds (bounds
// only one of them has are kept as they are).
func addBuckets(a, b []bucket) []bucket {
	sum := map[float64]float64{}
	for _, x := range a {
		sum[x.UpperBound] += x.Count
	}
	for _, x := range b {
		sum[x.UpperBound] += x.Count
	}
	out := make([]bucket, 0, len(sum))
	for le, n := range sum {
		out = append(out, bucket{UpperBound: le, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpperBound < out[j].UpperBound })
	return out
}

// histogramQuantile estimates the q-quantile (0 < q < 1) of a cumulative
// histogram sorted by bound, as Prometheus's histogram_quantile does: find
// the bucket holding the rank, interpolate linearly inside it (from 0 for
// the first bucket). A rank in the +Inf bucket answers the largest finite
// bound. With no observations it answers 0.
func histogramQuantile(q float64, buckets []bucket) float64 {
	if len(buckets) == 0 {
		return 0
	}
	total := buckets[len(buckets)-1].Count
	if total <= 0 {
		return 0
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, b := range buckets {
		if b.Count >= rank {
			if math.IsInf(b.UpperBound, 1) {
				if i == 0 {
					return 0
				}
				return buckets[i-1].UpperBound
			}
			if b.Count == below {
				return b.UpperBound
			}
			return lower + (b.UpperBound-lower)*(rank-below)/(b.Count-below)
		}
		lower, below = b.UpperBound, b.Count
	}
	return lower
}

// memberScrape is one member's metrics at one time.
type memberScrape struct {
	Member string
	TaskID string
	At     time.Time
	M      nodeMetrics
}

// roleMetrics computes every autoscale metric of a role from two rounds of
// scrapes (keyed by task id; a task seen only now has no rate yet). Rates
// come from the members scraped in both rounds; gauges from every member
// scraped now. A metric without data is absent.
//
//   - requests_per_second: each coordinator's request rate, averaged over
//     the coordinators;
//   - latency_p99_ms: the 99th percentile of the requests between the two
//     rounds, over all coordinators (0 without requests);
//   - documents_per_dbserver, data_bytes_per_dbserver: the average over the
//     DBServers;
//   - cpu_per_dbserver: CPU cores used (CPU seconds per second), averaged
//     over the DBServers.
func roleMetrics(role string, prev, cur map[string]memberScrape) map[string]float64 {
	out := map[string]float64{}
	var rates, cpus []float64
	var latency []bucket
	paired := 0
	var docs, bytes float64
	for id, c := range cur {
		docs += c.M.Documents
		bytes += c.M.DataBytes
		p, ok := prev[id]
		dt := c.At.Sub(p.At).Seconds()
		if !ok || dt <= 0 {
			continue
		}
		paired++
		rates = append(rates, counterDelta(p.M.Requests, c.M.Requests)/dt)
		cpus = append(cpus, counterDelta(p.M.CPUSeconds, c.M.CPUSeconds)/dt)
		latency = addBuckets(latency, bucketDeltas(p.M.Latency, c.M.Latency))
	}
	switch role {
	case "coordinators":
		if paired > 0 {
			out[MetricRequestsPerSecond] = mean(rates)
			out[MetricLatencyP99] = histogramQuantile(0.99, latency) * 1000
		}
	case "dbservers":
		if len(cur) > 0 {
			out[MetricDocumentsPerServer] = docs / float64(len(cur))
			out[MetricDataBytesPerServer] = bytes / float64(len(cur))
		}
		if paired > 0 {
			out[MetricCPUPerServer] = mean(cpus)
		}
	}
	return out
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
