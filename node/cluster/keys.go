package cluster

import "errors"

// ErrBadKey: a document key breaks ArangoDB's rules.
var ErrBadKey = errors.New("cluster: illegal document key")

// ValidateKey checks a document key against ArangoDB's rules: 1 to 254
// bytes of letters, digits and _ - : . @ ( ) + , = ; $ ! * ' %.
func ValidateKey(key string) error {
	if len(key) == 0 || len(key) > 254 {
		return ErrBadKey
	}
	for i := 0; i < len(key); i++ {
		if !keyChar[key[i]] {
			return ErrBadKey
		}
	}
	return nil
}

var keyChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "_-:.@()+,=;$!*'%" {
		t[c] = true
	}
	return t
}()
