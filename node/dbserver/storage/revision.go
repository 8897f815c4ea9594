package storage

import (
	"fmt"
	"sync"
	"time"
)

// Rev is a document revision: a hybrid logical clock value, milliseconds of
// wall time in the upper bits and a counter in the lower 20. Revisions of a
// shard strictly increase, also across leader changes, because every new
// leader continues from the highest revision it holds.
type Rev uint64

const logicalBits = 20

// revAlphabet is ArangoDB's alphabet for revision strings, so _rev values
// look like the ones drivers know ("_gjDBOTu---").
const revAlphabet = "-_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var revIndex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(revAlphabet); i++ {
		t[revAlphabet[i]] = int8(i)
	}
	return t
}()

// String is the _rev form of r: 11 characters, 6 bits each, most
// significant first.
func (r Rev) String() string {
	var b [11]byte
	v := uint64(r)
	for i := 10; i >= 0; i-- {
		b[i] = revAlphabet[v&63]
		v >>= 6
	}
	return string(b[:])
}

// ParseRev parses a _rev string made by String. It fails on any other
// string: clients may send revisions that never existed, and those match
// nothing.
func ParseRev(s string) (Rev, error) {
	if len(s) != 11 {
		return 0, fmt.Errorf("storage: bad revision %q", s)
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d := revIndex[s[i]]
		if d < 0 || (i == 0 && d > 15) {
			return 0, fmt.Errorf("storage: bad revision %q", s)
		}
		v = v<<6 | uint64(d)
	}
	return Rev(v), nil
}

// Hex is the fixed-width sortable form stored in front of each document:
// 16 lower-case hex digits.
func (r Rev) Hex() string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i, v := 15, uint64(r); i >= 0; i, v = i-1, v>>4 {
		b[i] = digits[v&15]
	}
	return string(b[:])
}

// Clock hands out strictly increasing revisions. It is safe for concurrent
// use.
type Clock struct {
	mu   sync.Mutex
	last Rev
	now  func() time.Time
}

// NewClock returns a clock that continues after last.
func NewClock(last Rev) *Clock { return &Clock{last: last, now: time.Now} }

// Next returns a revision above every revision handed out or observed.
func (c *Clock) Next() Rev {
	c.mu.Lock()
	defer c.mu.Unlock()
	phys := Rev(uint64(c.now().UnixMilli()) << logicalBits)
	if phys > c.last {
		c.last = phys
	} else {
		c.last++
	}
	return c.last
}

// Observe makes the clock continue above r (a revision written elsewhere).
func (c *Clock) Observe(r Rev) {
	c.mu.Lock()
	if r > c.last {
		c.last = r
	}
	c.mu.Unlock()
}

// Last returns the highest revision handed out or observed.
func (c *Clock) Last() Rev {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}
