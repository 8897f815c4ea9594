package aql

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// queryGen writes random queries of the subset, with random bind values.
type queryGen struct {
	r    *rand.Rand
	vars map[string]any
}

func (g *queryGen) pick(s ...string) string { return s[g.r.Intn(len(s))] }

func (g *queryGen) scalar() any {
	switch g.r.Intn(7) {
	case 0:
		return nil
	case 1:
		return g.r.Intn(2) == 0
	case 2:
		return json.Number(fmt.Sprint(g.r.Intn(7) - 3))
	case 3:
		return g.r.Float64()*6 - 3
	case 4:
		return g.pick("", "a", "b", "B", "é", "a\"b", "x\ny")
	case 5:
		return []any{g.scalar(), g.scalar()}[:g.r.Intn(3)]
	default:
		return map[string]any{g.pick("a", "b"): g.scalar()}
	}
}

func (g *queryGen) bind(v any) string {
	name := fmt.Sprintf("v%d", len(g.vars))
	g.vars[name] = v
	return "@" + name
}

func (g *queryGen) literal() string {
	b, _ := json.Marshal(g.scalar())
	return string(b)
}

func (g *queryGen) path() string {
	switch g.r.Intn(9) {
	case 0:
		return "d.nested.a"
	case 1:
		return "d.tags[" + g.pick("0", "1", "-1", `"0"`) + "]"
	case 2:
		return "d['x']"
	case 3:
		return "d." + g.bind(g.pick("x", "y"))
	case 4:
		return "d." + g.bind([]any{"nested", "a"})
	case 5:
		return "d[" + g.bind("name") + "]"
	case 6:
		return "d"
	default:
		return "d." + g.pick("x", "y", "name", "tags", "_key")
	}
}

func (g *queryGen) operand(depth int) string {
	switch g.r.Intn(8) {
	case 0, 1, 2, 3:
		return g.path()
	case 4:
		return g.literal()
	case 5:
		return g.bind(g.scalar())
	case 6:
		if depth > 0 {
			return "[" + g.operand(depth-1) + ", " + g.operand(depth-1) + "]"
		}
		return g.literal()
	default:
		if depth > 0 {
			return "{k: " + g.operand(depth-1) + ", 'l': " + g.operand(depth-1) + "}"
		}
		return g.path()
	}
}

func (g *queryGen) cond(depth int) string {
	if depth <= 0 {
		return g.operand(1) + " " + g.pick("==", "!=", "<", "<=", ">", ">=", "IN", "NOT IN") + " " + g.operand(1)
	}
	switch g.r.Intn(7) {
	case 0:
		return g.cond(depth-1) + " " + g.pick("AND", "&&") + " " + g.cond(depth-1)
	case 1:
		return g.cond(depth-1) + " " + g.pick("OR", "||") + " " + g.cond(depth-1)
	case 2:
		return g.pick("NOT ", "!") + "(" + g.cond(depth-1) + ")"
	case 3:
		return "(" + g.cond(depth-1) + ") " + g.pick("==", "!=", "<") + " " + g.operand(1)
	case 4:
		return g.operand(1) + " IN " + g.bind([]any{g.scalar(), g.scalar(), g.scalar(), "a", "b"})
	case 5:
		return g.path()
	default:
		return g.cond(depth - 1)
	}
}

func (g *queryGen) query() string {
	g.vars = map[string]any{}
	var b strings.Builder
	b.WriteString("FOR d IN " + g.pick("c", "`my coll`", "@@coll"))
	if strings.Contains(b.String(), "@@") {
		g.vars["@coll"] = "c"
	}
	for i := g.r.Intn(3); i > 0; i-- {
		b.WriteString(" FILTER " + g.cond(g.r.Intn(4)))
	}
	if g.r.Intn(3) > 0 {
		b.WriteString(" SORT ")
		for i := g.r.Intn(3); i >= 0; i-- {
			b.WriteString(g.operand(1) + g.pick("", " ASC", " DESC"))
			if i > 0 {
				b.WriteString(", ")
			}
		}
	}
	switch g.r.Intn(3) {
	case 0:
		b.WriteString(fmt.Sprintf(" LIMIT %d", g.r.Intn(5)))
	case 1:
		b.WriteString(fmt.Sprintf(" LIMIT %s, %d", g.bind(g.r.Intn(3)), g.r.Intn(5)))
	}
	b.WriteString(" RETURN d")
	return b.String()
}

func (g *queryGen) doc(i int) map[string]any {
	d := map[string]any{"_key": fmt.Sprint(i), "_id": fmt.Sprint("c/", i), "_rev": "_r"}
	for _, k := range []string{"x", "y", "name", "tags", "nested"} {
		if g.r.Intn(5) > 0 {
			d[k] = g.scalar()
		}
	}
	if g.r.Intn(2) == 0 {
		d["tags"] = []any{g.scalar(), g.scalar(), "a"}
		d["nested"] = map[string]any{"a": g.scalar()}
	}
	return d
}

// sameOnDocs checks that a ShardPlan decides like the Plan it came from.
func sameOnDocs(t testing.TB, what string, p *Plan, sp *ShardPlan, docs []map[string]any) {
	t.Helper()
	for i, d := range docs {
		if p.Match(d) != sp.Match(d) {
			t.Fatalf("%s: Match differs on %v", what, d)
		}
		e := docs[(i*7+3)%len(docs)]
		if p.Less(d, e) != sp.Less(d, e) {
			t.Fatalf("%s: Less differs on %v, %v", what, d, e)
		}
	}
	wantLimit := -1
	if p.Count() >= 0 {
		wantLimit = p.Offset() + p.Count()
	}
	if sp.Limit() != wantLimit || sp.HasSort() != p.HasSort() {
		t.Fatalf("%s: Limit %d HasSort %v, want %d %v", what, sp.Limit(), sp.HasSort(), wantLimit, p.HasSort())
	}
}

// roundTrip sends a plan through ShardQuery and ParseShardQuery and checks
// the result decides as the plan does, and that printing is stable.
func roundTrip(t testing.TB, what string, p *Plan, docs []map[string]any) {
	t.Helper()
	b, err := p.ShardQuery()
	if err != nil {
		t.Fatalf("%s: ShardQuery: %v", what, err)
	}
	sp, err := ParseShardQuery(b)
	if err != nil {
		t.Fatalf("%s: ParseShardQuery(%s): %v", what, b, err)
	}
	sameOnDocs(t, what+" → "+string(b), p, sp, docs)
	// Printed constants are canonical after one round, so a second round
	// prints the same text.
	b2, err := sp.p.ShardQuery()
	if err != nil {
		t.Fatal(err)
	}
	sp2, err := ParseShardQuery(b2)
	if err != nil {
		t.Fatalf("%s: second round %s: %v", what, b2, err)
	}
	if b3, _ := sp2.p.ShardQuery(); string(b3) != string(b2) {
		t.Fatalf("%s: printing is not stable:\n%s\n%s", what, b2, b3)
	}
}

func TestShardQueryRoundTrip(t *testing.T) {
	g := &queryGen{r: rand.New(rand.NewSource(1))}
	var docs []map[string]any
	for i := 0; i < 300; i++ {
		docs = append(docs, g.doc(i))
	}
	for i := 0; i < 1000; i++ {
		query := g.query()
		q, err := Parse(query)
		if err != nil {
			t.Fatalf("generated %q: %v", query, err)
		}
		p, err := q.Bind(g.vars)
		if err != nil {
			t.Fatalf("generated %q %v: %v", query, g.vars, err)
		}
		roundTrip(t, query, p, docs)
	}
}

func TestShardQueryText(t *testing.T) {
	q, err := Parse(`FOR doc IN @@c FILTER doc.a.b == @v AND (doc.x < 1 OR doc["y"] IN ["a", @w]) FILTER NOT doc.z
		SORT doc.x DESC, doc.@attr LIMIT 10, 5 RETURN {k: doc._key}`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := q.Bind(map[string]any{"@c": "my`coll", "v": "q\"uote", "w": 1.5, "attr": "t"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.ShardQuery()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"query":"FOR d IN ` + "`my\\\\`coll`" + ` FILTER d.` + "`a`.`b`" + ` == \"q\\\"uote\" AND (d.` + "`x`" + ` \u003c 1 OR d[\"y\"] IN [\"a\", 1.5]) FILTER NOT d.` + "`z`" + ` SORT d.` + "`x`" + ` DESC, d.` + "`t`" + ` LIMIT 15 RETURN d"}`
	if string(b) != want {
		t.Errorf("ShardQuery\n got  %s\n want %s", b, want)
	}
	sp, err := ParseShardQuery(b)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Limit() != 15 {
		t.Errorf("Limit() = %d", sp.Limit())
	}
}

func TestShardQueryInvalidUTF8(t *testing.T) {
	q, _ := Parse("FOR d IN @@c FILTER d.x == @v RETURN d")
	for _, vars := range []map[string]any{
		{"@c": "c\xff", "v": 1},
		{"@c": "c", "v": "\xff"},
		{"@c": "c", "v": map[string]any{"\xff": 1}},
	} {
		p, err := q.Bind(vars)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.ShardQuery(); err == nil {
			t.Errorf("ShardQuery with %q: no error", vars)
		}
	}
}

func TestParseShardQueryErrors(t *testing.T) {
	for in, num := range map[string]int{
		``:                                    600,
		`[]`:                                  600,
		`{"query": 1}`:                        600,
		`{"query": "", "x": 1}`:               600,
		`{"query": "FOR d IN c RETURN d"} {}`: 600,
		`{}`:                                  1502,
		`{"query": "FOR d IN c INSERT d INTO c"}`:           1501,
		`{"query": "FOR d IN c FILTER d.x == @v RETURN d"}`: 1551,
		`{"query": "FOR d IN c LIMIT -1 RETURN d"}`:         1504,
	} {
		_, err := ParseShardQuery([]byte(in))
		var e *Error
		if !errors.As(err, &e) || e.Num != num {
			t.Errorf("ParseShardQuery(%s) = %v, want errorNum %d", in, err, num)
		}
	}
}

// TestShardQueryDeep: what parses and binds within the nesting limits
// also prints as a shard query that parses, however long or deep.
func TestShardQueryDeep(t *testing.T) {
	deep := any(json.Number("1"))
	for i := 0; i < maxValueDepth; i++ {
		deep = []any{deep}
	}
	var or strings.Builder
	or.WriteString("d.x == 0")
	for i := 1; i < 5000; i++ {
		fmt.Fprintf(&or, " OR d.x == %d", i)
	}
	nested := strings.Repeat("(", maxDepth-5) + "d.x" + strings.Repeat(")", maxDepth-5)
	docs := []map[string]any{{"x": json.Number("4999")}, {"x": deep}, {"x": json.Number("5000")}}
	for _, tc := range []struct {
		query string
		vars  map[string]any
	}{
		{"FOR d IN c FILTER d.x == @v RETURN d", map[string]any{"v": deep}},
		{"FOR d IN c FILTER " + or.String() + " RETURN d", nil},
		{"FOR d IN c FILTER " + nested + " RETURN d", nil},
		{"FOR d IN c FILTER " + strings.Repeat("NOT ", maxDepth-5) + "d.x RETURN d", nil},
	} {
		roundTrip(t, tc.query[:min(len(tc.query), 40)], mustPlan(t, tc.query, tc.vars), docs)
	}
}

// TestConcurrentUse: one Query and one Plan serve many requests at once
// (run with -race).
func TestConcurrentUse(t *testing.T) {
	docs := decodeDocs(t, testDocs)
	q, err := Parse("FOR d IN c FILTER d.x IN @v SORT d.name DESC LIMIT 5 RETURN {k: d._key}")
	if err != nil {
		t.Fatal(err)
	}
	p, err := q.Bind(map[string]any{"v": []any{1, "2", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	want := mustJSON(t, execute(p, docs))
	done := make(chan string)
	for i := 0; i < 4; i++ {
		go func() {
			p2, _ := q.Bind(map[string]any{"v": []any{1, "2", "x"}})
			b, _ := p.ShardQuery()
			ParseShardQuery(b)
			done <- mustJSON(t, execute(p2, docs)) + mustJSON(t, execute(p, docs))
		}()
	}
	for i := 0; i < 4; i++ {
		if got := <-done; got != want+want {
			t.Errorf("concurrent run gave %s", got)
		}
	}
}
