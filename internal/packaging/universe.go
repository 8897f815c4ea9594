package packaging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cbroglie/mustache"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The files of a Universe package (packagingVersion 4.0) that this project
// ships.
const (
	PackageFile  = "package.json"
	ConfigFile   = "config.json"
	ResourceFile = "resource.json"
	TemplateFile = "marathon.json.mustache"
)

// Package is a loaded Universe package directory.
type Package struct {
	Dir string
	// Meta is package.json, Config is config.json (the JSON schema of the
	// options), Resource is resource.json; numbers are json.Number.
	Meta, Config, Resource map[string]any
	// Template is marathon.json.mustache.
	Template string
	// Raw holds every file's bytes by file name.
	Raw map[string][]byte

	options *jsonschema.Schema
	tmpl    *mustache.Template
}

// LoadPackage reads and checks a package directory: the JSON files must be
// ASCII without \u escapes and without duplicate keys (Universe's CI rules),
// config.json must compile as a draft-4 JSON schema, and the template must
// parse as mustache.
func LoadPackage(dir string) (*Package, error) {
	p := &Package{Dir: dir, Raw: map[string][]byte{}}
	for _, name := range []string{PackageFile, ConfigFile, ResourceFile, TemplateFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if err := CheckASCII(b); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		p.Raw[name] = b
	}
	for name, dst := range map[string]*map[string]any{PackageFile: &p.Meta, ConfigFile: &p.Config, ResourceFile: &p.Resource} {
		obj, err := DecodeObject(p.Raw[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		*dst = obj
	}
	sch, err := CompileSchema("config.json", p.Raw[ConfigFile])
	if err != nil {
		return nil, fmt.Errorf("%s is not a usable JSON schema: %w", ConfigFile, err)
	}
	p.options = sch
	p.Template = string(p.Raw[TemplateFile])
	if p.tmpl, err = mustache.ParseString(p.Template); err != nil {
		return nil, fmt.Errorf("%s: %w", TemplateFile, err)
	}
	return p, nil
}

// DecodeObject decodes a JSON object after checking it for duplicate keys;
// numbers stay json.Number, so that they render exactly as written.
func DecodeObject(data []byte) (map[string]any, error) {
	if err := CheckDuplicateKeys(data); err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, got %T", v)
	}
	return obj, nil
}

// CompileSchema compiles a JSON schema as draft 4, the draft of Universe's
// and Marathon's schemas. Marathon's AppDefinition.json declares
// "$schema": "http://json-schema.org/schema#" (whatever draft is newest),
// which would make a validator read its draft-4 keywords (tuple "items",
// boolean "exclusiveMinimum") as draft 2020-12; the in-memory copy is told
// draft 4 instead. Formats (e.g. "uri") are asserted.
func CompileSchema(name string, data []byte) (*jsonschema.Schema, error) {
	return CompileSchemaAt(name, data, "")
}

// CompileSchemaAt is CompileSchema for the subschema at a JSON pointer, e.g.
// "/definitions/v40Package".
func CompileSchemaAt(name string, data []byte, pointer string) (*jsonschema.Schema, error) {
	doc, err := DecodeObject(data)
	if err != nil {
		return nil, err
	}
	if s, _ := doc["$schema"].(string); s == "http://json-schema.org/schema#" || s == "http://json-schema.org/schema" {
		doc["$schema"] = "http://json-schema.org/draft-04/schema#"
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.AssertFormat()
	url := "mem:///" + name
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	if pointer != "" {
		url += "#" + pointer
	}
	return c.Compile(url)
}

// Defaults returns the options that config.json's defaults make: every
// property's "default", objects filled in recursively, as Cosmos does before
// it merges a user's options file.
func (p *Package) Defaults() map[string]any {
	d, _ := schemaDefaults(p.Config).(map[string]any)
	if d == nil {
		d = map[string]any{}
	}
	return d
}

func schemaDefaults(schema map[string]any) any {
	props, _ := schema["properties"].(map[string]any)
	if t, _ := schema["type"].(string); t == "object" || props != nil {
		out := map[string]any{}
		if def, ok := schema["default"].(map[string]any); ok {
			out = deepCopy(def).(map[string]any)
		}
		for name, sub := range props {
			subSchema, _ := sub.(map[string]any)
			if v := schemaDefaults(subSchema); v != nil {
				if m, ok := v.(map[string]any); ok && len(m) == 0 {
					if _, has := subSchema["default"]; !has {
						continue
					}
				}
				out[name] = v
			}
		}
		return out
	}
	if def, ok := schema["default"]; ok {
		return deepCopy(def)
	}
	return nil
}

// Options merges a user's options (a JSON object, or nil for none) over the
// defaults and validates the result against config.json. Objects merge key by
// key; any other value replaces the default.
func (p *Package) Options(user []byte) (map[string]any, error) {
	opts := p.Defaults()
	if len(bytes.TrimSpace(user)) > 0 {
		u, err := DecodeObject(user)
		if err != nil {
			return nil, fmt.Errorf("options: %w", err)
		}
		merge(opts, u)
	}
	if err := p.options.Validate(opts); err != nil {
		return nil, fmt.Errorf("options do not match %s: %w", ConfigFile, err)
	}
	return opts, nil
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = deepCopy(v)
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// Context is what the template sees: the options, and resource.json under
// "resource", as Cosmos provides it.
func (p *Package) Context(opts map[string]any) map[string]any {
	ctx := deepCopy(opts).(map[string]any)
	ctx["resource"] = deepCopy(p.Resource)
	return ctx
}

// TemplateNames returns every name the template uses (variables and
// sections), sorted and without repeats.
func (p *Package) TemplateNames() []string {
	seen := map[string]bool{}
	var walk func([]mustache.Tag)
	walk = func(tags []mustache.Tag) {
		for _, t := range tags {
			seen[t.Name()] = true
			if t.Type() == mustache.Section || t.Type() == mustache.InvertedSection {
				walk(t.Tags())
			}
		}
	}
	walk(p.tmpl.Tags())
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrTemplate marks a template that uses a name the context does not have, or
// renders to something that is not one JSON object.
var ErrTemplate = errors.New("packaging: bad template")

// Render renders the template with opts (see Options) and returns the
// Marathon app as indented JSON, in the template's key order. Unlike plain
// mustache, a name missing from the options is an error, not an empty string:
// a typo in the template must not render a silently empty value.
func (p *Package) Render(opts map[string]any) ([]byte, error) {
	ctx := p.Context(opts)
	var missing []string
	var walk func([]mustache.Tag)
	walk = func(tags []mustache.Tag) {
		for _, t := range tags {
			v, ok := lookupPath(ctx, t.Name())
			switch {
			case !ok:
				missing = append(missing, "{{"+t.Name()+"}}")
			case t.Type() == mustache.Variable:
				if _, obj := v.(map[string]any); obj {
					missing = append(missing, "{{"+t.Name()+"}} (an object)")
				}
			}
			if t.Type() == mustache.Section || t.Type() == mustache.InvertedSection {
				walk(t.Tags())
			}
		}
	}
	walk(p.tmpl.Tags())
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s uses names that are not options: %s", ErrTemplate, TemplateFile, strings.Join(missing, ", "))
	}
	out, err := p.tmpl.Render(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTemplate, err)
	}
	return NormalizeJSON([]byte(out))
}

// NormalizeJSON checks that data is one JSON object without duplicate keys and
// returns it indented by two spaces, keys in their original order, with a
// trailing newline.
func NormalizeJSON(data []byte) ([]byte, error) {
	if _, err := DecodeObject(data); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object: %v", ErrTemplate, err)
	}
	var compact, indented bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		return nil, err
	}
	if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	indented.WriteByte('\n')
	return indented.Bytes(), nil
}

func lookupPath(root map[string]any, name string) (any, bool) {
	var cur any = root
	for _, part := range strings.Split(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// RenderOptions is Options followed by Render.
func (p *Package) RenderOptions(user []byte) ([]byte, error) {
	opts, err := p.Options(user)
	if err != nil {
		return nil, err
	}
	return p.Render(opts)
}
