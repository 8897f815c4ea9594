package shardapi

import (
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/arangomesos/arangomesos/node/dbserver/storage"
)

// The messages of the hot paths — a write and its answer, a replication
// request and its answer — also have a compact binary encoding, which
// frame connections carry instead of JSON (ContentTypeBinary): documents
// and stored results travel as length-prefixed bytes that nobody has to
// scan, and numbers as varints. Plain HTTP keeps JSON.

// ContentTypeBinary marks a request or answer body in the binary encoding.
const ContentTypeBinary = "application/x-arangomesos-binary"

// errBadBinary: a binary body does not decode.
var errBadBinary = errors.New("shardapi: malformed binary body")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(v))+1)
	return append(b, v...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// binReader decodes a binary body; the first error sticks, and every read
// after it returns zero values.
type binReader struct {
	b   []byte
	err error
}

func (r *binReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errBadBinary
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *binReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errBadBinary
		return 0
	}
	r.b = r.b[n:]
	return v
}

// length reads a length and checks that that many bytes follow.
func (r *binReader) length() int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errBadBinary
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func (r *binReader) take(n int) []byte {
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *binReader) string() string { return string(r.take(r.length())) }

// bytes returns bytes that alias the body (nil stays nil).
func (r *binReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n == 0 {
		return nil
	}
	if n-1 > uint64(len(r.b)) {
		r.err = errBadBinary
		return nil
	}
	return r.take(int(n - 1))
}

func (r *binReader) bool() bool {
	if r.err != nil {
		return false
	}
	if len(r.b) == 0 || r.b[0] > 1 {
		r.err = errBadBinary
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}

// count reads the length of a list whose elements take at least one byte
// each.
func (r *binReader) count() int { return r.length() }

// done fails unless the whole body was read.
func (r *binReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errBadBinary
	}
	return r.err
}

// Bits of WriteOptions' flags byte.
const (
	optWaitForSync = 1 << iota
	optReturnNew
	optReturnOld
	optKeepNull
	optMergeObjects
	optIgnoreRevs
)

// AppendBinary appends the binary encoding of q.
func (q *WriteRequest) AppendBinary(b []byte) ([]byte, error) {
	b = appendString(b, q.Collection)
	b = appendString(b, string(q.Op))
	o := q.Options
	var flags byte
	for _, f := range []struct {
		set bool
		bit byte
	}{{o.WaitForSync, optWaitForSync}, {o.ReturnNew, optReturnNew}, {o.ReturnOld, optReturnOld},
		{o.KeepNull, optKeepNull}, {o.MergeObjects, optMergeObjects}, {o.IgnoreRevs, optIgnoreRevs}} {
		if f.set {
			flags |= f.bit
		}
	}
	b = append(b, flags)
	b = appendString(b, o.OverwriteMode)
	b = appendString(b, o.IfMatch)
	b = binary.AppendUvarint(b, uint64(len(o.ShardKeys)))
	for _, k := range o.ShardKeys {
		b = appendString(b, k)
	}
	b = binary.AppendUvarint(b, uint64(len(q.Docs)))
	for _, d := range q.Docs {
		b = appendBytes(b, d)
	}
	return b, nil
}

// UnmarshalBinary decodes q from its binary encoding; the documents alias
// data.
func (q *WriteRequest) UnmarshalBinary(data []byte) error {
	r := binReader{b: data}
	q.Collection = r.string()
	q.Op = Op(r.string())
	flags := byte(0)
	if r.err == nil && len(r.b) > 0 {
		flags = r.take(1)[0]
	} else {
		r.err = errBadBinary
	}
	q.Options = WriteOptions{WaitForSync: flags&optWaitForSync != 0, ReturnNew: flags&optReturnNew != 0,
		ReturnOld: flags&optReturnOld != 0, KeepNull: flags&optKeepNull != 0, MergeObjects: flags&optMergeObjects != 0,
		IgnoreRevs: flags&optIgnoreRevs != 0}
	q.Options.OverwriteMode = r.string()
	q.Options.IfMatch = r.string()
	if n := r.count(); n > 0 {
		q.Options.ShardKeys = make([]string, n)
		for i := range q.Options.ShardKeys {
			q.Options.ShardKeys[i] = r.string()
		}
	}
	q.Docs = nil
	if n := r.count(); n > 0 {
		q.Docs = make([]json.RawMessage, n)
		for i := range q.Docs {
			q.Docs[i] = r.bytes()
		}
	}
	return r.done()
}

// AppendBinary appends the binary encoding of a result.
func (res *Result) AppendBinary(b []byte) ([]byte, error) {
	b = appendBool(b, res.Error)
	b = binary.AppendVarint(b, int64(res.Code))
	b = binary.AppendVarint(b, int64(res.ErrorNum))
	b = appendString(b, res.ErrorMessage)
	b = appendString(b, res.ID)
	b = appendString(b, res.Key)
	b = appendString(b, res.Rev)
	b = appendString(b, res.OldRev)
	b = appendBytes(b, res.New)
	b = appendBytes(b, res.Old)
	return appendBool(b, res.Unchanged), nil
}

func (res *Result) read(r *binReader) {
	res.Error = r.bool()
	res.Code = int(r.varint())
	res.ErrorNum = int(r.varint())
	res.ErrorMessage = r.string()
	res.ID = r.string()
	res.Key = r.string()
	res.Rev = r.string()
	res.OldRev = r.string()
	res.New = r.bytes()
	res.Old = r.bytes()
	res.Unchanged = r.bool()
}

// AppendBinary appends the binary encoding of p.
func (p *WriteResponse) AppendBinary(b []byte) ([]byte, error) {
	b = binary.AppendVarint(b, p.Truncated)
	b = binary.AppendUvarint(b, uint64(len(p.Results)))
	for i := range p.Results {
		b, _ = p.Results[i].AppendBinary(b)
	}
	return b, nil
}

// UnmarshalBinary decodes p from its binary encoding.
func (p *WriteResponse) UnmarshalBinary(data []byte) error {
	r := binReader{b: data}
	p.Truncated = r.varint()
	p.Results = nil
	if n := r.count(); n > 0 {
		p.Results = make([]Result, n)
		for i := range p.Results {
			p.Results[i].read(&r)
		}
	}
	return r.done()
}

// AppendBinary appends the binary encoding of q.
func (q *ReplicateRequest) AppendBinary(b []byte) ([]byte, error) {
	b = appendString(b, q.Leader)
	b = binary.AppendUvarint(b, q.RebootID)
	b = binary.AppendUvarint(b, q.Term)
	b = appendBool(b, q.WaitForSync)
	b = binary.AppendUvarint(b, uint64(len(q.Entries)))
	for _, e := range q.Entries {
		b = binary.AppendUvarint(b, e.Seq)
		b = appendString(b, e.OpID)
		b = appendBytes(b, e.Result)
		b = appendBool(b, e.Sync)
		b = binary.AppendUvarint(b, uint64(len(e.Muts)))
		for _, m := range e.Muts {
			b = appendString(b, m.Key)
			b = binary.AppendUvarint(b, uint64(m.Rev))
			b = appendBytes(b, m.Doc)
			b = appendBool(b, m.Truncate)
		}
	}
	return b, nil
}

// UnmarshalBinary decodes q from its binary encoding; documents and
// results alias data.
func (q *ReplicateRequest) UnmarshalBinary(data []byte) error {
	r := binReader{b: data}
	q.Leader = r.string()
	q.RebootID = r.uvarint()
	q.Term = r.uvarint()
	q.WaitForSync = r.bool()
	q.Entries = nil
	if n := r.count(); n > 0 {
		q.Entries = make([]Entry, n)
		for i := range q.Entries {
			e := &q.Entries[i]
			e.Seq = r.uvarint()
			e.OpID = r.string()
			e.Result = r.bytes()
			e.Sync = r.bool()
			if m := r.count(); m > 0 {
				e.Muts = make([]Mutation, m)
				for j := range e.Muts {
					mu := &e.Muts[j]
					mu.Key = r.string()
					mu.Rev = storage.Rev(r.uvarint())
					mu.Doc = r.bytes()
					mu.Truncate = r.bool()
				}
			}
		}
	}
	return r.done()
}

// AppendBinary appends the binary encoding of p.
func (p *ReplicateResponse) AppendBinary(b []byte) ([]byte, error) {
	return binary.AppendUvarint(b, p.Seq), nil
}

// UnmarshalBinary decodes p from its binary encoding.
func (p *ReplicateResponse) UnmarshalBinary(data []byte) error {
	r := binReader{b: data}
	p.Seq = r.uvarint()
	return r.done()
}
