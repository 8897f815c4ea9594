package mesoslocal

import (
	"fmt"
	"time"
)

// stoutDuration formats d the way Mesos's stout library prints a Duration:
// the largest unit (weeks, days, hrs, mins, secs, ms, us, ns) that gives a
// whole number, e.g. 5secs, 15mins, 250ms. mesos-go's executor config loader
// accepts only these units.
func stoutDuration(d time.Duration) string {
	units := []struct {
		name string
		d    time.Duration
	}{
		{"weeks", 7 * 24 * time.Hour}, {"days", 24 * time.Hour}, {"hrs", time.Hour},
		{"mins", time.Minute}, {"secs", time.Second}, {"ms", time.Millisecond},
		{"us", time.Microsecond},
	}
	if d == 0 {
		return "0ns"
	}
	for _, u := range units {
		if d%u.d == 0 {
			return fmt.Sprintf("%d%s", d/u.d, u.name)
		}
	}
	return fmt.Sprintf("%dns", d)
}
