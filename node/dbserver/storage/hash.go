package storage

import (
	"hash/fnv"
	"strconv"
)

// Chunk summarizes the documents with keys from Low to High (both
// inclusive): how many there are and a hash of their (key, revision) pairs.
// Two shards hold the same documents in a key range exactly when their
// chunks agree (up to hash collisions).
type Chunk struct {
	Low   string `json:"low"`
	High  string `json:"high"`
	Count int    `json:"count"`
	Hash  string `json:"hash"`
}

// KeyRev is a document key with its revision.
type KeyRev struct {
	Key string `json:"k"`
	Rev Rev    `json:"r"`
}

type rangeHasher struct {
	h interface {
		Write([]byte) (int, error)
		Sum64() uint64
	}
	n int
}

func newRangeHasher() *rangeHasher { return &rangeHasher{h: fnv.New64a()} }

func (r *rangeHasher) add(key string, rev Rev) {
	_, _ = r.h.Write([]byte(key))
	_, _ = r.h.Write([]byte{0})
	_, _ = r.h.Write([]byte(rev.Hex()))
	r.n++
}

func (r *rangeHasher) sum() string { return strconv.FormatUint(r.h.Sum64(), 16) }

// Chunks cuts the shard into ranges of about size documents, in key order,
// and hashes each. It reads in steps, so writers go on meanwhile.
func (s *Store) Chunks(size int) ([]Chunk, error) {
	if size <= 0 {
		size = 1000
	}
	var out []Chunk
	var cur *Chunk
	h := newRangeHasher()
	err := s.Scan(func(d Doc) bool {
		if cur == nil {
			out = append(out, Chunk{Low: d.Key})
			cur = &out[len(out)-1]
			h = newRangeHasher()
		}
		h.add(d.Key, d.Rev)
		cur.High = d.Key
		if h.n >= size {
			cur.Count, cur.Hash = h.n, h.sum()
			cur = nil
		}
		return true
	})
	if cur != nil {
		cur.Count, cur.Hash = h.n, h.sum()
	}
	return out, err
}

// RangeHash returns the count and hash of the documents from low to high
// (both inclusive), in the form Chunks uses.
func (s *Store) RangeHash(low, high string) (int, string, error) {
	h := newRangeHasher()
	err := s.ScanRange(low, high, func(d Doc) bool {
		h.add(d.Key, d.Rev)
		return true
	})
	return h.n, h.sum(), err
}

// KeyRevs lists the keys and revisions from low to high (both inclusive; ""
// is unbounded).
func (s *Store) KeyRevs(low, high string) ([]KeyRev, error) {
	var out []KeyRev
	err := s.ScanRange(low, high, func(d Doc) bool {
		out = append(out, KeyRev{d.Key, d.Rev})
		return true
	})
	return out, err
}

// Checksum returns the document count and a hash over every (key,
// revision) of the shard: equal on two copies exactly when they hold the
// same documents.
func (s *Store) Checksum() (int, string, error) { return s.RangeHash("", "") }
