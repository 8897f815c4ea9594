package packaging

import (
	"encoding/json"
	"testing"
)

// The duplicate-key walk never panics, and on valid JSON it agrees with
// encoding/json about validity.
func FuzzCheckDuplicateKeys(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"a":2}`, `[{"x":{"y":[1,2,{"y":1,"y":2}]}}]`, `{"a":`, `"x"`, `{"\u0061":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckDuplicateKeys(data)
		if err == nil && !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
	})
}

// Whatever options a user gives, rendering either refuses them or gives one
// JSON object without duplicate keys: no option value can break the app's
// JSON (config.json's patterns keep quotes and backslashes out of strings).
func FuzzRenderOptions(f *testing.F) {
	p, err := LoadPackage(universeDir)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{}`, `{"service":{"name":"x"}}`, `{"service":{"mesos_master":"zk://a:1/m","zookeeper":""}}`,
		`{"service":{"secret_name":"a/b","artifact_url":"http://h/p?a=1&b=2"}}`, `{"agents":{"count":5,"cpus":1e3}}`,
		`{"service":{"user":"root","role":"r"},"database":{"root_password_secret":"s"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, options []byte) {
		out, err := p.RenderOptions(options)
		if err != nil {
			return
		}
		if _, err := ParseApp(out); err != nil {
			t.Fatalf("options %s rendered to a broken app: %v\n%s", options, err, out)
		}
	})
}
