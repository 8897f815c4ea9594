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
