package agency

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/arangomesos/arangomesos/node/cluster"
)

// FuzzApply: applying any accepted write request never panics, is
// deterministic (two stores end up equal), and a transaction whose
// preconditions fail changes nothing.
func FuzzApply(f *testing.F) {
	for _, s := range []string{
		`[[{"/a/b":{"op":"push","new":1}},{"/a":{"oldEmpty":false}}]]`,
		`[[{"/a":{"op":"set","new":[1,2,3],"ttl":1}},{"/a":{"intersectionEmpty":[4]}}],[{"/a":{"op":"erase","pos":1}}]]`,
		`[[{"/n":{"op":"increment","step":1e308}},{"/n":{"old":1}}],[{"/n":{"op":"decrement","step":-5}}]]`,
		`[[{"/x/.h":{"op":"shift"},"/x":{"op":"replace","val":{"a":1},"new":null}}]]`,
	} {
		f.Add([]byte(s), int64(1500))
	}
	f.Fuzz(func(t *testing.T, b []byte, dt int64) {
		trxs, err := cluster.ParseWriteRequest(b)
		if err != nil {
			return
		}
		s1, s2 := NewStore(), NewStore()
		applyJSONQuiet(s1, `[[{"/a":{"b":[1,2],"c":"x"},"/n":5,"/x":[{"a":1}]}]]`)
		applyJSONQuiet(s2, `[[{"/a":{"b":[1,2],"c":"x"},"/n":5,"/x":[{"a":1}]}]]`)
		now := t0.Add(time.Duration(dt%100000) * time.Millisecond)
		for i := range trxs {
			before := snapshotJSON(s1, now)
			o1 := s1.applyTxn(&trxs[i], now)
			o2 := s2.applyTxn(&trxs[i], now)
			if o1.ok != o2.ok {
				t.Fatal("non-deterministic precondition outcome")
			}
			if !o1.ok && snapshotJSON(s1, now) != before {
				t.Fatal("a failed transaction changed the store")
			}
		}
		if snapshotJSON(s1, now) != snapshotJSON(s2, now) {
			t.Fatal("same requests gave different stores")
		}
		_ = s1.read(cluster.ReadQuery{"/"}, now.Add(time.Hour))
	})
}

func applyJSONQuiet(s *Store, body string) {
	trxs, _ := cluster.ParseWriteRequest([]byte(body))
	for i := range trxs {
		s.applyTxn(&trxs[i], t0)
	}
}

func snapshotJSON(s *Store, now time.Time) string {
	b, _ := json.Marshal(s.read(cluster.ReadQuery{"/"}, now))
	return string(b)
}
