package mesoslocal

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gogo/protobuf/proto"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// ParseResources parses an agent resource string in Mesos syntax:
// "name(role):value;…" where value is a scalar ("4", "0.5"), ranges
// ("[31000-31999,32005-32010]") or a set ("{a,b}"). Entries may also be
// separated by commas outside brackets. A string starting with '[' is read
// as a JSON array of Resource. Statically reserved entries ("cpus(eng):1")
// carry a STATIC reservation. The result is in Mesos's internal
// (post-refinement) format. It fails with ErrBadResources.
func ParseResources(s string) (mesos.Resources, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") {
		var rs []mesos.Resource
		if err := json.Unmarshal([]byte(s), &rs); err != nil {
			return nil, fmt.Errorf("%w: JSON resources: %w", ErrBadResources, err)
		}
		out := mesos.Resources{}
		for i := range rs {
			r := toInternal(rs[i])
			if err := r.Validate(); err != nil {
				return nil, fmt.Errorf("%w: %q: %w", ErrBadResources, rs[i].Name, err)
			}
			out.Add1(r)
		}
		return out, nil
	}
	out := mesos.Resources{}
	for _, item := range splitTop(s) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		r, err := parseResource(item)
		if err != nil {
			return nil, err
		}
		if r.IsEmpty() {
			continue
		}
		out.Add1(r)
	}
	return out, nil
}

// splitTop splits on ';' anywhere and on ',' outside brackets and braces.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '[', '{', '(':
			depth++
		case ']', '}', ')':
			depth--
		case ';':
			out = append(out, s[start:i])
			start = i + 1
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func parseResource(item string) (mesos.Resource, error) {
	bad := func(why string) (mesos.Resource, error) {
		return mesos.Resource{}, fmt.Errorf("%w: %q: %s", ErrBadResources, item, why)
	}
	colon := strings.Index(item, ":")
	if colon <= 0 {
		return bad("expected name:value")
	}
	name, value := strings.TrimSpace(item[:colon]), strings.TrimSpace(item[colon+1:])
	role := ""
	if open := strings.Index(name, "("); open >= 0 {
		if !strings.HasSuffix(name, ")") {
			return bad("unterminated role")
		}
		role = strings.TrimSpace(name[open+1 : len(name)-1])
		name = strings.TrimSpace(name[:open])
		if role == "" {
			return bad("empty role")
		}
	}
	if name == "" {
		return bad("empty name")
	}
	r := mesos.Resource{Name: name}
	switch {
	case strings.HasPrefix(value, "["):
		if !strings.HasSuffix(value, "]") {
			return bad("unterminated ranges")
		}
		rgs, err := parseRanges(value[1 : len(value)-1])
		if err != nil {
			return bad(err.Error())
		}
		r.Type = mesos.RANGES.Enum()
		r.Ranges = &mesos.Value_Ranges{Range: rgs}
	case strings.HasPrefix(value, "{"):
		if !strings.HasSuffix(value, "}") {
			return bad("unterminated set")
		}
		var items []string
		for _, it := range strings.Split(value[1:len(value)-1], ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		r.Type = mesos.SET.Enum()
		r.Set = &mesos.Value_Set{Item: items}
	default:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0 || f != f {
			return bad("not a non-negative number")
		}
		r.Type = mesos.SCALAR.Enum()
		r.Scalar = &mesos.Value_Scalar{Value: f}
	}
	if role != "" && role != "*" {
		r.Reservations = []mesos.Resource_ReservationInfo{{
			Type: mesos.Resource_ReservationInfo_STATIC.Enum(),
			Role: proto.String(role),
		}}
	}
	if err := r.Validate(); err != nil {
		return bad(err.Error())
	}
	return r, nil
}

func parseRanges(s string) ([]mesos.Value_Range, error) {
	var out mesos.Ranges
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, ok := strings.Cut(part, "-")
		if !ok {
			hi = lo
		}
		b, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		e, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		if err1 != nil || err2 != nil || b > e {
			return nil, fmt.Errorf("bad range %q", part)
		}
		out = append(out, mesos.Value_Range{Begin: b, End: e})
	}
	return out.Sort().Squash(), nil
}

// ParseAttributes parses agent attributes in Mesos syntax "name:value;…".
// Values are scalars when numeric, ranges in brackets, sets in braces, text
// otherwise. It fails with ErrBadResources.
func ParseAttributes(s string) ([]mesos.Attribute, error) {
	var out []mesos.Attribute
	for _, item := range strings.Split(s, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: attribute %q: expected name:value", ErrBadResources, item)
		}
		a := mesos.Attribute{Name: name}
		switch {
		case strings.HasPrefix(value, "[") && strings.HasSuffix(value, "]"):
			rgs, err := parseRanges(value[1 : len(value)-1])
			if err != nil {
				return nil, fmt.Errorf("%w: attribute %q: %w", ErrBadResources, item, err)
			}
			a.Type = mesos.RANGES
			a.Ranges = &mesos.Value_Ranges{Range: rgs}
		case strings.HasPrefix(value, "{") && strings.HasSuffix(value, "}"):
			var items []string
			for _, it := range strings.Split(value[1:len(value)-1], ",") {
				if it = strings.TrimSpace(it); it != "" {
					items = append(items, it)
				}
			}
			a.Type = mesos.SET
			a.Set = &mesos.Value_Set{Item: items}
		default:
			if f, err := strconv.ParseFloat(value, 64); err == nil && f == f {
				a.Type = mesos.SCALAR
				a.Scalar = &mesos.Value_Scalar{Value: f}
			} else {
				a.Type = mesos.TEXT
				a.Text = &mesos.Value_Text{Value: value}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

func hasResource(rs mesos.Resources, name string) bool {
	for i := range rs {
		if rs[i].Name == name {
			return true
		}
	}
	return false
}

// toInternal converts a resource from any framework format into Mesos's
// internal format: allocation info stripped, the reservation stack in
// reservations[] with types set, no role or reservation field.
func toInternal(r mesos.Resource) mesos.Resource {
	r = *proto.Clone(&r).(*mesos.Resource)
	r.AllocationInfo = nil
	if len(r.Reservations) == 0 && r.Role != nil && *r.Role != "*" {
		ri := mesos.Resource_ReservationInfo{Role: proto.String(*r.Role)}
		if r.Reservation != nil {
			ri.Type = mesos.Resource_ReservationInfo_DYNAMIC.Enum()
			ri.Principal = r.Reservation.Principal
			ri.Labels = r.Reservation.Labels
		} else {
			ri.Type = mesos.Resource_ReservationInfo_STATIC.Enum()
		}
		r.Reservations = []mesos.Resource_ReservationInfo{ri}
	}
	for i := range r.Reservations {
		if r.Reservations[i].Type == nil {
			r.Reservations[i].Type = mesos.Resource_ReservationInfo_DYNAMIC.Enum()
		}
	}
	r.Role = nil
	r.Reservation = nil
	return r
}

// toInternalAll converts a list with toInternal, merging what can be merged.
func toInternalAll(rs []mesos.Resource) mesos.Resources {
	out := mesos.Resources{}
	for i := range rs {
		out.Add1(toInternal(rs[i]))
	}
	return out
}

// forFramework converts internal resources into what a framework sees:
// allocation info only for MULTI_ROLE frameworks, pre-refinement fields for
// frameworks without RESERVATION_REFINEMENT.
func forFramework(rs mesos.Resources, role string, multiRole, refinement bool) []mesos.Resource {
	out := make([]mesos.Resource, 0, len(rs))
	for i := range rs {
		r := *proto.Clone(&rs[i]).(*mesos.Resource)
		if multiRole {
			r.Allocate(role)
		} else {
			r.AllocationInfo = nil
		}
		if !refinement {
			switch len(r.Reservations) {
			case 0:
				r.Role = proto.String("*")
			case 1:
				src := r.Reservations[0]
				if src.GetType() == mesos.Resource_ReservationInfo_DYNAMIC {
					r.Reservation = &mesos.Resource_ReservationInfo{Principal: src.Principal, Labels: src.Labels}
				}
				r.Role = proto.String(src.GetRole())
			}
		}
		out = append(out, r)
	}
	return out
}

// sumResources merges rs into the fewest Resource objects.
func sumResources(rs ...mesos.Resource) mesos.Resources {
	out := mesos.Resources{}
	for i := range rs {
		out.Add1(rs[i])
	}
	return out
}

// containsAll reports whether have contains every resource of want, counting
// quantities (mesos-go's resources.ContainsAll does not subtract scalars).
func containsAll(have, want mesos.Resources) bool {
	rem := sumResources(have...)
	for _, w := range sumResources(want...) {
		found := false
		for i := range rem {
			if rem[i].Contains(w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
		rem.Subtract1(w)
	}
	return true
}

// minus returns a - b without modifying either.
func minus(a mesos.Resources, b ...mesos.Resource) mesos.Resources {
	out := sumResources(a...)
	for i := range b {
		out.Subtract1(b[i])
	}
	return out
}

// allocatableTo keeps the resources a role may be offered: unreserved ones
// and those reserved to the role or an ancestor of it.
func allocatableTo(rs mesos.Resources, role string) mesos.Resources {
	out := mesos.Resources{}
	for i := range rs {
		if rs[i].IsAllocatableTo(role) {
			out = append(out, rs[i])
		}
	}
	return out
}

// scalarOf sums the scalar resource name.
func scalarOf(rs mesos.Resources, name string) float64 {
	v := 0.0
	for i := range rs {
		if rs[i].Name == name && rs[i].GetType() == mesos.SCALAR {
			v += rs[i].GetScalar().GetValue()
		}
	}
	return v
}

// isMinAllocatable applies Mesos's default min_allocatable_resources
// "cpus:0.01|mem:32": either alternative suffices.
func isMinAllocatable(rs mesos.Resources) bool {
	return scalarOf(rs, "cpus") >= 0.01 || scalarOf(rs, "mem") >= 32
}

// resourceMap renders resources as the state endpoint's map: scalars summed
// per name (cpus, gpus, mem, disk always present), ranges and sets as
// strings.
func resourceMap(rs mesos.Resources) map[string]any {
	m := map[string]any{"cpus": 0.0, "gpus": 0.0, "mem": 0.0, "disk": 0.0}
	ranges := map[string]mesos.Ranges{}
	sets := map[string][]string{}
	for i := range rs {
		r := &rs[i]
		name := r.Name
		if r.Revocable != nil {
			name += "_revocable"
		}
		switch r.GetType() {
		case mesos.SCALAR:
			v, _ := m[name].(float64)
			m[name] = roundMilli(v + r.GetScalar().GetValue())
		case mesos.RANGES:
			ranges[name] = append(ranges[name], r.GetRanges().GetRange()...)
		case mesos.SET:
			sets[name] = append(sets[name], r.GetSet().GetItem()...)
		}
	}
	for name, rg := range ranges {
		rg = rg.Sort().Squash()
		parts := make([]string, len(rg))
		for i, x := range rg {
			parts[i] = fmt.Sprintf("%d-%d", x.Begin, x.End)
		}
		m[name] = "[" + strings.Join(parts, ", ") + "]"
	}
	for name, items := range sets {
		sort.Strings(items)
		m[name] = "{" + strings.Join(items, ", ") + "}"
	}
	return m
}

func roundMilli(f float64) float64 {
	return float64(int64(f*1000+0.5)) / 1000
}

// reservationRole is the role a resource is reserved to, "" when unreserved.
func reservationRole(r *mesos.Resource) string {
	if n := len(r.Reservations); n > 0 {
		return r.Reservations[n-1].GetRole()
	}
	return ""
}
