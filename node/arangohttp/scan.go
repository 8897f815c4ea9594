package arangohttp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// ScanObject walks the top-level members of the JSON object raw without
// decoding it: fn gets each member's name and raw value, in order. It
// reports false — and then the caller decodes raw the usual way, which
// gives the error or handles the rare case — unless raw is exactly one
// valid JSON object, in valid UTF-8 (decoding would replace the rest),
// whose member names hold no escape sequences and whose numbers all fit a
// float64 (CheckNumbers). Documents pass through servers
// this way instead of being decoded and encoded again.
func ScanObject(raw []byte, fn func(name, value []byte)) bool {
	if !utf8.Valid(raw) || !json.Valid(raw) {
		return false
	}
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if raw[i] == '}' {
		return true
	}
	for {
		// raw[i] is the opening quote of a name.
		end := i + 1
		for raw[end] != '"' {
			if raw[end] == '\\' {
				return false
			}
			end++
		}
		name := raw[i+1 : end]
		i = skipSpace(raw, end+1) // the colon
		i = skipSpace(raw, i+1)
		start := i
		var ok bool
		if i, ok = skipValue(raw, i); !ok {
			return false
		}
		fn(name, raw[start:i])
		i = skipSpace(raw, i)
		if raw[i] == '}' {
			return true
		}
		i = skipSpace(raw, i+1) // after the comma
	}
}

// ObjectMember returns the raw value of the last top-level member called
// name of a JSON object that ScanObject accepts (as decoding into a map
// keeps the last of duplicates); found is false when there is none, ok
// false when ScanObject refuses raw.
func ObjectMember(raw []byte, name string) (value []byte, found, ok bool) {
	ok = ScanObject(raw, func(n, v []byte) {
		if string(n) == name {
			value, found = v, true
		}
	})
	return value, found && ok, ok
}

// PlainString returns the contents of a JSON string value without escape
// sequences; ok is false for anything else (decode those).
func PlainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' || bytes.IndexByte(v[1:len(v)-1], '\\') >= 0 {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that starts at b[i].
func skipString(b []byte, i int) int {
	for i++; ; i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// skipValue returns the index after the valid JSON value at b[i], and
// false when a number in it does not fit a float64.
func skipValue(b []byte, i int) (int, bool) {
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i), true
	case c == '{' || c == '[':
		depth := 0
		for {
			switch c := b[i]; {
			case c == '"':
				i = skipString(b, i)
				continue
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			case c == '-' || (c >= '0' && c <= '9'):
				end, ok := skipNumber(b, i)
				if !ok {
					return 0, false
				}
				i = end
				continue
			}
			i++
		}
	case c == 't' || c == 'n':
		return i + 4, true
	case c == 'f':
		return i + 5, true
	default:
		return skipNumber(b, i)
	}
}

// skipNumber returns the index after the number at b[i], and whether it
// fits a float64.
func skipNumber(b []byte, i int) (int, bool) {
	start, exp := i, false
	for ; i < len(b); i++ {
		c := b[i]
		if c == 'e' || c == 'E' {
			exp = true
		} else if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
			break
		}
	}
	if !exp && i-start < 300 {
		return i, true
	}
	_, err := strconv.ParseFloat(string(b[start:i]), 64)
	return i, err == nil
}

// maxPlainMembers bounds the members of one object that Plain compares
// for duplicates.
const maxPlainMembers = 32

// Plain reports whether the JSON document raw is an object that decoding
// and encoding again would change only in the order of its members and
// the spelling of its strings: valid UTF-8, compact (no space outside
// strings), numbers that fit a float64, no escape sequences in member
// names and no member name twice in one object, at any depth. Such a
// document can be stored as it came. fn (if not nil) gets each top-level
// member's name and value as Plain walks them; use what it got only when
// Plain reports true.
func Plain(raw []byte, fn func(name, value []byte)) bool {
	if len(raw) < 2 || raw[0] != '{' || !utf8.Valid(raw) || !json.Valid(raw) {
		return false
	}
	var scratch [16][]byte
	names := scratch[:0]
	if raw[1] == '}' {
		return len(raw) == 2
	}
	i := 1
	for {
		value := plainName(raw, i, &names, 0)
		if value < 0 {
			return false
		}
		end, ok := plainValue(raw, value, &names)
		if !ok || end >= len(raw) {
			return false
		}
		if fn != nil {
			fn(raw[i+1:value-2], raw[value:end])
		}
		switch raw[end] {
		case ',':
			i = end + 1
		case '}':
			return end+1 == len(raw)
		default:
			return false
		}
	}
}

// plainName checks the member name at b[i] (of an object whose names from
// outer on are in names), records it and returns the index after its
// colon, or -1.
func plainName(b []byte, i int, names *[][]byte, outer int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	end := i + 1
	for end < len(b) && b[end] != '"' {
		if b[end] == '\\' {
			return -1
		}
		end++
	}
	name := b[i+1 : end]
	if len(*names)-outer >= maxPlainMembers {
		return -1
	}
	for _, n := range (*names)[outer:] {
		if bytes.Equal(n, name) {
			return -1
		}
	}
	*names = append(*names, name)
	if end+1 >= len(b) || b[end+1] != ':' {
		return -1
	}
	return end + 2
}

// plainValue checks the valid JSON value at b[i] for Plain and returns the
// index after it; names holds the member names of the enclosing objects.
func plainValue(b []byte, i int, names *[][]byte) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '{':
		i++
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		outer := len(*names)
		defer func() { *names = (*names)[:outer] }()
		for {
			if i = plainName(b, i, names, outer); i < 0 {
				return 0, false
			}
			var ok bool
			if i, ok = plainValue(b, i, names); !ok || i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case ',':
				i++
			case '}':
				return i + 1, true
			default:
				return 0, false
			}
		}
	case c == '[':
		i++
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = plainValue(b, i, names); !ok || i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case ',':
				i++
			case ']':
				return i + 1, true
			default:
				return 0, false
			}
		}
	case c == '"':
		return skipString(b, i), true
	case c == 't' || c == 'n':
		return i + 4, true
	case c == 'f':
		return i + 5, true
	default:
		return skipNumber(b, i)
	}
}
