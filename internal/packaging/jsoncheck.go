package packaging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CheckDuplicateKeys reports the first object key that appears twice in the
// same object of data, with its path (e.g. "/env/ARANGOMESOS_MASTER").
// encoding/json silently keeps the last of two equal keys, and Universe's CI
// (json_dup_key_check.py) rejects such files, so every JSON file the project
// ships goes through this walk of the token stream. data must be one valid
// JSON value.
func CheckDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walkValue(dec, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("json: data after the top-level value")
	}
	return nil
}

func walkValue(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("json at %q: %w", orRoot(path), err)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("json at %q: %w", orRoot(path), err)
			}
			key, ok := kt.(string)
			if !ok {
				return fmt.Errorf("json at %q: object key is %v", orRoot(path), kt)
			}
			if seen[key] {
				return fmt.Errorf("duplicate key %q at %q", key, orRoot(path))
			}
			seen[key] = true
			if err := walkValue(dec, path+"/"+escapePointer(key)); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
		return err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}

func orRoot(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// CheckASCII applies Universe's rules for package files
// (validate_packages.py): ASCII only, and no \uXXXX escapes, which would hide
// non-ASCII text.
func CheckASCII(data []byte) error {
	line := 1
	for i, b := range data {
		if b == '\n' {
			line++
		}
		if b > 0x7e || (b < 0x20 && b != '\n' && b != '\r' && b != '\t') {
			return fmt.Errorf("line %d: byte 0x%02x is not printable ASCII", line, b)
		}
		if b == '\\' && i+1 < len(data) && data[i+1] == 'u' && !escapedBackslash(data, i) {
			return fmt.Errorf("line %d: \\u escape; write the text in plain ASCII", line)
		}
	}
	return nil
}

// escapedBackslash reports whether the backslash at i is itself escaped
// (preceded by an odd number of backslashes).
func escapedBackslash(data []byte, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && data[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}
