// Package testharness is the one place where tests get shared support:
// retry-until helpers (never bare sleeps), free loopback ports, the
// arangomesos binary built once per test binary run, and real processes
// started in their own process group, stopped by the test that started them
// and reported (log tail) when it fails. Packages whose tests start the
// binary call Main from their TestMain, so the build is removed afterwards.
package testharness
