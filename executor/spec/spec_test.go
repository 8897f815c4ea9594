package spec

import (
	"errors"
	"strings"
	"testing"
)

func valid() NodeSpec {
	return NodeSpec{Role: "DBSERVER", ServerID: "PRMR-1234", Address: "127.0.1.2", Port: 31001,
		AgencyEndpoints: []string{"tcp://127.0.1.1:31000"}, DataDir: "data", Secret: "s"}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(*NodeSpec)
		want string
	}{
		{"valid", func(*NodeSpec) {}, ""},
		{"bad role", func(s *NodeSpec) { s.Role = "LEADER" }, "role"},
		{"id does not fit role", func(s *NodeSpec) { s.ServerID = "CRDN-1" }, "server id"},
		{"bare prefix", func(s *NodeSpec) { s.ServerID = "PRMR-" }, "server id"},
		{"no address", func(s *NodeSpec) { s.Address = "" }, "address"},
		{"port 0", func(s *NodeSpec) { s.Port = 0 }, "port"},
		{"no agency", func(s *NodeSpec) { s.AgencyEndpoints = nil }, "agency"},
		{"bad endpoint", func(s *NodeSpec) { s.AgencyEndpoints = []string{"http://x:1"} }, "agency endpoint"},
		{"absolute data dir", func(s *NodeSpec) { s.DataDir = "/var/lib" }, "data directory"},
		{"escaping data dir", func(s *NodeSpec) { s.DataDir = "../../etc" }, "data directory"},
		{"no secret", func(s *NodeSpec) { s.Secret = "" }, "secret"},
		{"even agency", func(s *NodeSpec) { s.Role, s.ServerID, s.AgencySize = "AGENT", "AGNT-1", 2 }, "agency size"},
	}
	for _, c := range cases {
		s := valid()
		c.mod(&s)
		err := s.Validate()
		if c.want == "" && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if c.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: err = %v, want one about %q", c.name, err, c.want)
		}
	}
}

func TestDecode(t *testing.T) {
	s := valid()
	got, err := Decode(s.Encode())
	if err != nil || got.ServerID != s.ServerID || got.Endpoint() != "tcp://127.0.1.2:31001" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"", "{", `{"role":"DBSERVER","unknown":1}`, `[]`} {
		if _, err := Decode([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q) = %v", bad, err)
		}
	}
}
