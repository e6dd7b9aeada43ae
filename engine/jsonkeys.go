package engine

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxJSONDepth is how deep CheckJSONKeys follows nested values; deeper
// input is left to the decoder, which refuses it.
const maxJSONDepth = 10000

// smallObject is how many keys an object holds before CheckJSONKeys
// tracks them in a map rather than a list.
const smallObject = 16

// CheckJSONKeys checks the object keys of the JSON value in data before it
// is decoded into v (R44). encoding/json keeps the last of two equal keys
// and matches "Subject" or "SUBJECT" to the field subject, so a proxy in
// front of gatehouse could read another subject than the one decided. Here:
//
//   - no object holds one key twice, at any depth, maps and free-form values
//     (context, settings, policy data) included;
//   - an object decoded into a struct holds only the struct's JSON field
//     names, spelled exactly: a key that differs from a field name only in
//     case is refused, like any unknown field.
//
// v is the value data is decoded into (usually a pointer), nil for
// free-form JSON; values of types that decode themselves
// (json.Unmarshaler, encoding.TextUnmarshaler, json.RawMessage) are
// free-form. The error is a *FieldError whose Field is the key's path, such
// as "subject", "resource.account", "associations[0].users" or "context.a".
// Malformed JSON is not reported: the decoder that follows names it.
func CheckJSONKeys(data []byte, v any) error {
	var s *shape
	if v != nil {
		s = shapeOf(reflect.TypeOf(v))
	}
	sc := keyScanner{data: data}
	err := sc.value(s, 0)
	var ke *keyError
	if errors.As(err, &ke) {
		return &FieldError{Field: ke.path(), Message: ke.message}
	}
	return nil
}

// shape is what CheckJSONKeys knows of the Go value a JSON value decodes
// into. A nil *shape is free-form: any keys, each once.
type shape struct {
	// fields are a struct's JSON field names, by exact spelling.
	fields map[string]*shape
	// names lists the fields for "did you mean".
	names []string
	// elem is the shape of a map's values or a slice's items.
	elem     *shape
	isStruct bool
}

var (
	shapes       sync.Map // reflect.Type -> *shape
	unmarshaler  = reflect.TypeFor[json.Unmarshaler]()
	textUnmarsh  = reflect.TypeFor[encoding.TextUnmarshaler]()
	shapeBuildMu sync.Mutex
)

// shapeOf returns the shape of t, built once per type.
func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	shapeBuildMu.Lock()
	defer shapeBuildMu.Unlock()
	building := map[reflect.Type]*shape{}
	s := buildShape(t, building)
	// Published only once complete: a recursive type's shapes refer to
	// each other while they are built.
	for bt, bs := range building {
		shapes.Store(bt, bs)
	}
	return s
}

// buildShape builds the shape of t; building holds the shapes under
// construction, so that recursive types end.
func buildShape(t reflect.Type, building map[reflect.Type]*shape) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	if s, ok := building[t]; ok {
		return s
	}
	if t.Implements(unmarshaler) || reflect.PointerTo(t).Implements(unmarshaler) ||
		t.Implements(textUnmarsh) || reflect.PointerTo(t).Implements(textUnmarsh) {
		return nil
	}
	var s *shape
	switch t.Kind() {
	case reflect.Pointer:
		s = buildShape(t.Elem(), building)
	case reflect.Map, reflect.Slice, reflect.Array:
		s = &shape{}
		building[t] = s
		s.elem = buildShape(t.Elem(), building)
	case reflect.Struct:
		s = &shape{isStruct: true, fields: map[string]*shape{}}
		building[t] = s
		addFields(s, t, building)
	default:
		return nil
	}
	return s
}

// addFields adds the JSON fields of struct type t to s, with the fields of
// embedded structs promoted as encoding/json promotes them (an outer field
// wins over an embedded one of the same name).
func addFields(s *shape, t reflect.Type, building map[reflect.Type]*shape) {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s.fields[name] = buildShape(f.Type, building)
		s.names = append(s.names, name)
	}
	for _, et := range embedded {
		inner := &shape{fields: map[string]*shape{}}
		addFields(inner, et, building)
		for _, name := range inner.names {
			if _, taken := s.fields[name]; !taken {
				s.fields[name] = inner.fields[name]
				s.names = append(s.names, name)
			}
		}
	}
}

// errSyntax stops the scan of malformed JSON quietly: the decoder reports it.
var errSyntax = errors.New("malformed JSON")

// keyError is a refused key; segments are the path to it, innermost first,
// added as the scan unwinds so that the happy path builds no path.
type keyError struct {
	segments []string
	message  string
}

func (e *keyError) Error() string { return e.path() + ": " + e.message }

func (e *keyError) path() string {
	var b strings.Builder
	for i := len(e.segments) - 1; i >= 0; i-- {
		seg := e.segments[i]
		if b.Len() > 0 && !strings.HasPrefix(seg, "[") {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}

// underPath adds a path segment to a keyError passing up the scan.
func underPath(err error, segment string) error {
	if ke, ok := err.(*keyError); ok {
		ke.segments = append(ke.segments, segment)
	}
	return err
}

// keySegment is how a key is written in a path: as is when it is a plain
// name, quoted otherwise.
func keySegment(key string) string {
	if ValidID(key) {
		return key
	}
	return strconv.Quote(key)
}

// keyScanner walks one JSON value and checks its object keys.
type keyScanner struct {
	data []byte
	pos  int
}

func (sc *keyScanner) space() {
	for sc.pos < len(sc.data) {
		switch sc.data[sc.pos] {
		case ' ', '\t', '\r', '\n':
			sc.pos++
		default:
			return
		}
	}
}

// value checks the value at pos, decoded into s.
func (sc *keyScanner) value(s *shape, depth int) error {
	if depth > maxJSONDepth {
		return errSyntax
	}
	sc.space()
	if sc.pos >= len(sc.data) {
		return errSyntax
	}
	switch sc.data[sc.pos] {
	case '{':
		return sc.object(s, depth)
	case '[':
		return sc.array(s, depth)
	case '"':
		_, _, err := sc.str()
		return err
	}
	for sc.pos < len(sc.data) {
		switch sc.data[sc.pos] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return nil
		}
		sc.pos++
	}
	return nil
}

// str reads a string at pos and returns its raw content (between the
// quotes) and whether it holds escapes or invalid UTF-8, which make its
// decoded text differ from the raw bytes.
func (sc *keyScanner) str() (raw []byte, unusual bool, err error) {
	start := sc.pos + 1
	for i := start; i < len(sc.data); i++ {
		switch c := sc.data[i]; {
		case c == '\\':
			unusual = true
			i++
		case c == '"':
			sc.pos = i + 1
			raw = sc.data[start:i]
			return raw, unusual || !utf8.Valid(raw), nil
		}
	}
	return nil, false, errSyntax
}

// key returns the text a key decodes to.
func key(raw []byte, unusual bool) ([]byte, error) {
	if !unusual {
		return raw, nil
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return nil, errSyntax
	}
	return []byte(s), nil
}

// object checks an object at pos: each key once, and for a struct only
// its field names, exactly.
func (sc *keyScanner) object(s *shape, depth int) error {
	sc.pos++ // {
	var (
		few  [smallObject][]byte
		seen = few[:0]
		many map[string]struct{}
	)
	for first := true; ; first = false {
		sc.space()
		if sc.pos >= len(sc.data) {
			return errSyntax
		}
		if sc.data[sc.pos] == '}' && first {
			sc.pos++
			return nil
		}
		if sc.data[sc.pos] != '"' {
			return errSyntax
		}
		raw, unusual, err := sc.str()
		if err != nil {
			return err
		}
		k, err := key(raw, unusual)
		if err != nil {
			return err
		}
		if many != nil {
			if _, dup := many[string(k)]; dup {
				return duplicate(k)
			}
			many[string(k)] = struct{}{}
		} else {
			for _, prev := range seen {
				if bytes.Equal(prev, k) {
					return duplicate(k)
				}
			}
			if len(seen) < smallObject {
				seen = append(seen, k)
			} else {
				many = make(map[string]struct{}, 2*smallObject)
				for _, prev := range seen {
					many[string(prev)] = struct{}{}
				}
				many[string(k)] = struct{}{}
			}
		}
		var inner *shape
		if s != nil {
			if s.isStruct {
				field, known := s.fields[string(k)]
				if !known {
					return unknownField(s, string(k))
				}
				inner = field
			} else {
				inner = s.elem
			}
		}
		sc.space()
		if sc.pos >= len(sc.data) || sc.data[sc.pos] != ':' {
			return errSyntax
		}
		sc.pos++
		if err := sc.value(inner, depth+1); err != nil {
			return underPath(err, keySegment(string(k)))
		}
		sc.space()
		if sc.pos >= len(sc.data) {
			return errSyntax
		}
		switch sc.data[sc.pos] {
		case ',':
			sc.pos++
		case '}':
			sc.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

// array checks each item of an array at pos.
func (sc *keyScanner) array(s *shape, depth int) error {
	sc.pos++ // [
	var elem *shape
	if s != nil && !s.isStruct {
		elem = s.elem
	}
	for i := 0; ; i++ {
		sc.space()
		if sc.pos >= len(sc.data) {
			return errSyntax
		}
		if sc.data[sc.pos] == ']' && i == 0 {
			sc.pos++
			return nil
		}
		if err := sc.value(elem, depth+1); err != nil {
			return underPath(err, "["+strconv.Itoa(i)+"]")
		}
		sc.space()
		if sc.pos >= len(sc.data) {
			return errSyntax
		}
		switch sc.data[sc.pos] {
		case ',':
			sc.pos++
		case ']':
			sc.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

func duplicate(k []byte) error {
	return &keyError{
		segments: []string{keySegment(string(k))},
		message:  "is given twice: each key may appear only once in an object",
	}
}

// unknownField refuses a key that is not a field name of s, saying which
// field it resembles when it differs from one only in case.
func unknownField(s *shape, k string) error {
	for _, name := range s.names {
		if strings.EqualFold(name, k) {
			return &keyError{
				segments: []string{keySegment(k)},
				message:  "is not a known field: field names are case-sensitive, did you mean " + strconv.Quote(name) + "?",
			}
		}
	}
	return &keyError{segments: []string{keySegment(k)}, message: "is not a known field"}
}
