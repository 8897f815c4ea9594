package agency

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

var t0 = time.UnixMilli(1_700_000_000_000)

// applyJSON parses a write request and applies its transactions at now; it
// returns per transaction whether it was applied.
func applyJSON(t *testing.T, s *Store, body string, now time.Time) []bool {
	t.Helper()
	trxs, err := cluster.ParseWriteRequest([]byte(body))
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	var oks []bool
	for i := range trxs {
		oks = append(oks, s.applyTxn(&trxs[i], now).ok)
	}
	return oks
}

func readJSON(t *testing.T, s *Store, keys []string, now time.Time) string {
	t.Helper()
	out := map[string]any{}
	for _, k := range keys {
		n, _ := cluster.NormalizePath(k)
		mergeInto(out, s.read(cluster.ReadQuery{n}, now))
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestOperations(t *testing.T) {
	cases := []struct {
		name  string
		setup string
		write string
		read  string
		want  string
	}{
		{"set object replaces subtree", `[[{"/a":{"b":1,"c":2}}]]`, `[[{"/a":{"op":"set","new":{"d":3}}}]]`, "/a", `{"a":{"d":3}}`},
		{"shorthand set", ``, `[[{"a/b//c":12}]]`, "/a", `{"a":{"b":{"c":12}}}`},
		{"set child keeps siblings", `[[{"/a":{"b":1,"c":2}}]]`, `[[{"/a/b":5}]]`, "/a", `{"a":{"b":5,"c":2}}`},
		{"set through a leaf", `[[{"/a":1}]]`, `[[{"/a/b":2}]]`, "/a", `{"a":{"b":2}}`},
		{"object with op key as data via new", ``, `[[{"/a":{"op":"set","new":{"op":"x"}}}]]`, "/a", `{"a":{"op":"x"}}`},
		{"delete", `[[{"/a":{"b":1,"c":2}}]]`, `[[{"/a/b":{"op":"delete"}}]]`, "/a", `{"a":{"c":2}}`},
		{"delete absent is fine", ``, `[[{"/x":{"op":"delete"}}]]`, "/x", `{}`},
		{"increment missing", ``, `[[{"/n":{"op":"increment"}}]]`, "/n", `{"n":1}`},
		{"increment step", `[[{"/n":5}]]`, `[[{"/n":{"op":"increment","step":10000}}]]`, "/n", `{"n":10005}`},
		{"decrement float", `[[{"/n":1.5}]]`, `[[{"/n":{"op":"decrement","step":0.5}}]]`, "/n", `{"n":1}`},
		{"increment non-number", `[[{"/n":"x"}]]`, `[[{"/n":{"op":"increment"}}]]`, "/n", `{"n":1}`},
		{"push", `[[{"/z":["a"]}]]`, `[[{"/z":{"op":"push","new":"Max"}}]]`, "/z", `{"z":["a","Max"]}`},
		{"push onto missing", ``, `[[{"/z":{"op":"push","new":1}}]]`, "/z", `{"z":[1]}`},
		{"push onto non-array", `[[{"/z":7}]]`, `[[{"/z":{"op":"push","new":1}}]]`, "/z", `{"z":[1]}`},
		{"prepend", `[[{"/z":[2,3]}]]`, `[[{"/z":{"op":"prepend","new":1}}]]`, "/z", `{"z":[1,2,3]}`},
		{"pop", `[[{"/z":[1,2,3]}]]`, `[[{"/z":{"op":"pop"}}]]`, "/z", `{"z":[1,2]}`},
		{"pop last", `[[{"/z":[1]}]]`, `[[{"/z":{"op":"pop"}}]]`, "/z", `{"z":[]}`},
		{"shift", `[[{"/z":[1,2,3]}]]`, `[[{"/z":{"op":"shift"}}]]`, "/z", `{"z":[2,3]}`},
		{"erase val", `[[{"/z":[1,2,1,3]}]]`, `[[{"/z":{"op":"erase","val":1}}]]`, "/z", `{"z":[2,3]}`},
		{"erase object val", `[[{"/z":[{"a":1},{"a":2}]}]]`, `[[{"/z":{"op":"erase","val":{"a":2}}}]]`, "/z", `{"z":[{"a":1}]}`},
		{"erase pos", `[[{"/z":["a","b","c"]}]]`, `[[{"/z":{"op":"erase","pos":1}}]]`, "/z", `{"z":["a","c"]}`},
		{"erase absent skipped", ``, `[[{"/z":{"op":"erase","val":1}}]]`, "/z", `{}`},
		{"replace", `[[{"/z":[1,2,1]}]]`, `[[{"/z":{"op":"replace","val":1,"new":9}}]]`, "/z", `{"z":[9,2,9]}`},
		{"numbers compare numerically", `[[{"/z":[1.0,2]}]]`, `[[{"/z":{"op":"erase","val":1}}]]`, "/z", `{"z":[2]}`},
		{"ops apply in key order", ``, `[[{"/b":{"op":"push","new":1},"/a":{"op":"set","new":{"b":[0]}}}]]`, "/", `{"a":{"b":[0]},"b":[1]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStore()
			if c.setup != "" {
				applyJSON(t, s, c.setup, t0)
			}
			if oks := applyJSON(t, s, c.write, t0); !oks[0] {
				t.Fatal("write not applied")
			}
			if got := readJSON(t, s, []string{c.read}, t0); got != c.want {
				t.Fatalf("read %s = %s, want %s", c.read, got, c.want)
			}
		})
	}
}

func TestPreconditions(t *testing.T) {
	setup := `[[{"/a":{"b":{"c":[1,2,3]},"e":12},"/n":null,"/s":"x"}]]`
	cases := []struct {
		pre  string
		want bool
	}{
		{`{"/a/e":12}`, true},
		{`{"/a/e":12.0}`, true},
		{`{"/a/e":13}`, false},
		{`{"/a/e":{"old":12}}`, true},
		{`{"/a/b":{"old":{"c":[1,2,3]}}}`, true},
		{`{"/a/b":{"c":[1,2,3]}}`, true}, // an object without condition names compares as old
		{`{"/a/b":{"c":[1,2]}}`, false},
		{`{"/missing":{"old":null}}`, false},
		{`{"/n":{"old":null}}`, true},
		{`{"/a/e":{"oldNot":13}}`, true},
		{`{"/a/e":{"oldNot":12}}`, false},
		{`{"/missing":{"oldNot":1}}`, true},
		{`{"/missing":{"oldEmpty":true}}`, true},
		{`{"/a":{"oldEmpty":true}}`, false},
		{`{"/a":{"oldEmpty":false}}`, true},
		{`{"/n":{"oldEmpty":false}}`, true}, // a present null is present
		{`{"/a/b/c":{"isArray":true}}`, true},
		{`{"/a/e":{"isArray":true}}`, false},
		{`{"/a/e":{"isArray":false}}`, true},
		{`{"/missing":{"isArray":false}}`, true},
		{`{"/a/b/c":{"in":2}}`, true},
		{`{"/a/b/c":{"in":4}}`, false},
		{`{"/missing":{"in":4}}`, false},
		{`{"/a/b/c":{"notin":4}}`, true},
		{`{"/a/b/c":{"notin":2}}`, false},
		{`{"/missing":{"notin":2}}`, true},
		{`{"/a/b/c":{"intersectionEmpty":[7,8]}}`, true},
		{`{"/a/b/c":{"intersectionEmpty":[7,3]}}`, false},
		{`{"/missing":{"intersectionEmpty":[1]}}`, true},
		{`{"/a/e":{"old":12,"isArray":false}}`, true},
		{`{"/a/e":{"old":12,"isArray":true}}`, false},
		{`{"/a/e":12,"/s":"y"}`, false},
	}
	for _, c := range cases {
		t.Run(c.pre, func(t *testing.T) {
			s := NewStore()
			applyJSON(t, s, setup, t0)
			oks := applyJSON(t, s, `[[{"/out":1},`+c.pre+`]]`, t0)
			if oks[0] != c.want {
				t.Fatalf("precondition %s: applied=%v, want %v", c.pre, oks[0], c.want)
			}
			_, wrote := s.get("/out", t0)
			if wrote != c.want {
				t.Fatalf("a failed precondition must change nothing")
			}
		})
	}
}

func TestFailedTransactionIsAtomic(t *testing.T) {
	s := NewStore()
	applyJSON(t, s, `[[{"/x":1}]]`, t0)
	oks := applyJSON(t, s, `[[{"/x":2,"/y":3},{"/x":{"old":1},"/y":{"oldEmpty":false}}],[{"/z":1}]]`, t0)
	if oks[0] || !oks[1] {
		t.Fatalf("oks = %v", oks)
	}
	if got := readJSON(t, s, []string{"/"}, t0); got != `{"x":1,"z":1}` {
		t.Fatalf("tree = %s", got)
	}
}

func TestReadSemantics(t *testing.T) {
	s := NewStore()
	applyJSON(t, s, `[[{"/a":{"b":{"c":[1,2,3]},"e":12},"/.agency":{"x":1},"/h/.hid":1,"/h/vis":2}]]`, t0)
	cases := []struct {
		keys []string
		want string
	}{
		{[]string{"/a/b/c"}, `{"a":{"b":{"c":[1,2,3]}}}`},
		{[]string{"/a/b/d"}, `{"a":{"b":{}}}`},
		{[]string{"/y"}, `{}`},
		{[]string{"/a/e/x"}, `{"a":{"e":{}}}`},
		{[]string{"/a/e", "/a/b/c"}, `{"a":{"b":{"c":[1,2,3]},"e":12}}`},
		{[]string{"/a/b/d", "/a/b"}, `{"a":{"b":{"c":[1,2,3]}}}`},
		{[]string{"/h"}, `{"h":{"vis":2}}`},
		{[]string{"/.agency"}, `{".agency":{"x":1}}`},
		{[]string{"/"}, `{"a":{"b":{"c":[1,2,3]},"e":12},"h":{"vis":2}}`},
	}
	for _, c := range cases {
		if got := readJSON(t, s, c.keys, t0); got != c.want {
			t.Errorf("read %v = %s, want %s", c.keys, got, c.want)
		}
	}
}

func TestTTL(t *testing.T) {
	s := NewStore()
	applyJSON(t, s, `[[{"/k":{"op":"set","new":{"v":1},"ttl":2},"/keep":1}]]`, t0)
	if got := readJSON(t, s, []string{"/k"}, t0.Add(1999*time.Millisecond)); got != `{"k":{"v":1}}` {
		t.Fatalf("before expiry: %s", got)
	}
	later := t0.Add(2 * time.Second)
	if got := readJSON(t, s, []string{"/"}, later); got != `{"keep":1}` {
		t.Fatalf("after expiry the key must be invisible: %s", got)
	}
	if applyJSON(t, s, `[[{"/x":1},{"/k":{"oldEmpty":true}}]]`, later)[0] != true {
		t.Fatal("preconditions must see an expired key as absent")
	}
	// An expired key is gone for operations too: push starts a new array.
	applyJSON(t, s, `[[{"/k/v":{"op":"push","new":5}}]]`, later)
	if got := readJSON(t, s, []string{"/k"}, later); got != `{"k":{"v":[5]}}` {
		t.Fatalf("op on expired key: %s", got)
	}
	// Setting again without ttl removes the TTL.
	applyJSON(t, s, `[[{"/t":{"op":"set","new":1,"ttl":1}}]]`, t0)
	applyJSON(t, s, `[[{"/t":2}]]`, t0)
	if got := readJSON(t, s, []string{"/t"}, t0.Add(time.Hour)); got != `{"t":2}` {
		t.Fatalf("re-set without ttl must not expire: %s", got)
	}
	// expire removes only keys that are really due.
	applyJSON(t, s, `[[{"/u":{"op":"set","new":1,"ttl":5}}]]`, t0)
	if keys := s.expiredKeys(t0.Add(5 * time.Second)); len(keys) != 1 || keys[0] != "/u" {
		t.Fatalf("expired keys = %v", keys)
	}
	applyJSON(t, s, `[[{"/u":{"op":"set","new":2,"ttl":60}}]]`, t0.Add(4*time.Second))
	if gone := s.expire([]string{"/u"}, t0.Add(5*time.Second)); len(gone) != 0 {
		t.Fatalf("a key set again with a later ttl must survive: %v", gone)
	}
	if gone := s.expire([]string{"/u"}, t0.Add(64*time.Second)); len(gone) != 1 {
		t.Fatalf("due key not expired: %v", gone)
	}
}

func TestObservers(t *testing.T) {
	s := NewStore()
	applyJSON(t, s, `[[{"/a/b":{"op":"observe","url":"http://h:1/cb"},"/other":{"op":"observe","url":"http://h:2/cb"}}]]`, t0)
	got := s.observersOf([]string{"/a/b/c"})
	if len(got) != 1 || len(got["http://h:1/cb"]["/a/b"]) != 1 {
		t.Fatalf("change below observed key: %v", got)
	}
	if got := s.observersOf([]string{"/a"}); len(got["http://h:1/cb"]) != 1 {
		t.Fatalf("change of ancestor: %v", got)
	}
	if got := s.observersOf([]string{"/a/x"}); len(got) != 0 {
		t.Fatalf("unrelated change: %v", got)
	}
	applyJSON(t, s, `[[{"/a/b":{"op":"unobserve","url":"http://h:1/cb"}}]]`, t0)
	if got := s.observersOf([]string{"/a/b"}); len(got) != 0 {
		t.Fatalf("after unobserve: %v", got)
	}
}

func TestParseRejects(t *testing.T) {
	bad := []string{
		``, `{}`, `[]`, `[1]`, `[[]]`, `[[1]]`, `[["x"]]`, `[[{"/a":1},[]]]`, `[[{"/a":1},{},5]]`,
		`[[{"/a":1},{},"c","extra"]]`, `[[{"/a":{"op":"frobnicate"}}]]`, `[[{"/a":{"op":1}}]]`,
		`[[{"/a":{"op":"set"}}]]`, `[[{"/a":{"op":"set","new":1,"ttl":-1}}]]`, `[[{"/a":{"op":"set","new":1,"ttl":"x"}}]]`,
		`[[{"/a":{"op":"push"}}]]`, `[[{"/a":{"op":"erase"}}]]`, `[[{"/a":{"op":"erase","val":1,"pos":0}}]]`,
		`[[{"/a":{"op":"erase","pos":-1}}]]`, `[[{"/a":{"op":"replace","val":1}}]]`, `[[{"/a":{"op":"observe"}}]]`,
		`[[{"/a":{"op":"observe","url":"ftp://x"}}]]`, `[[{"/a":{"op":"increment","step":"2"}}]]`,
		`[[{"/a":{"op":"delete","new":1}}]]`, `[[{"/":1}]]`, `[[{"/a":1,"a":2}]]`,
		`[[{"/a":1},{"/b":{"old":1,"zzz":2}}]]`, `[[{"/a":1},{"/b":{"oldEmpty":"yes"}}]]`,
		`[[{"/a":1},{"/b":{"intersectionEmpty":1}}]]`, `[[{"/a\u0000b":1}]]`, `[[{"/a":1}]] trailing`,
	}
	for _, b := range bad {
		if _, err := cluster.ParseWriteRequest([]byte(b)); err == nil {
			t.Errorf("accepted %s", b)
		}
	}
	for _, b := range []string{``, `[]`, `[[]]`, `[[1]]`, `[["/a",2]]`, `{"a":1}`} {
		if _, err := cluster.ParseReadRequest([]byte(b)); err == nil {
			t.Errorf("read accepted %s", b)
		}
	}
}
