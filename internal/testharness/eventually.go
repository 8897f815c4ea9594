package testharness

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Eventually calls f until it returns nil, and fails the test with f's last
// error when timeout passes. It waits between attempts with a short backoff
// (10 ms doubling to 250 ms); this is how tests wait, never with bare sleeps.
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	if err := Poll(context.Background(), timeout, f); err != nil {
		t.Fatalf("not true after %v: %v", timeout, err)
	}
}

// Poll calls f until it returns nil, the timeout passes or ctx ends; it then
// returns f's last error. For use outside tests' main goroutine.
func Poll(ctx context.Context, timeout time.Duration, f func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := 10 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
}

// Context returns a context that ends after timeout or when the test ends.
func Context(t testing.TB, timeout time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}
