package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

const idRule = "must be 1-128 letters, digits, '.', '_', '-' or '@'"

// bodyRule says how decodeBody treats a body.
type bodyRule uint8

const (
	// bodyOptional accepts an empty body, leaving the value untouched.
	bodyOptional bodyRule = 0
	// bodyRequired refuses an empty body.
	bodyRequired bodyRule = 1 << iota
	// bodyNumbers keeps numbers in free-form JSON exact (json.Number).
	bodyNumbers
)

// decodeBody decodes the request body, at most s.maxBody bytes of one JSON
// value, into v (R44): unknown fields, a key given twice in one object and
// a field name spelled in another case ("Subject", "SUBJECT") are refused
// with 400 naming the field by its path, at every depth (engine.CheckJSONKeys).
func (s *Server) decodeBody(c *gin.Context, v any, rule bodyRule) error {
	required := rule&bodyRequired != 0
	if c.Request.Body == nil {
		if required {
			return engine.Invalid("body", "a JSON body is required")
		}
		return nil
	}
	b := s.buffers.get()
	defer s.buffers.put(b)
	if _, err := b.buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, s.maxBody)); err != nil {
		return decodeError(err)
	}
	data := b.buf.Bytes()
	if len(bytes.TrimSpace(data)) == 0 {
		if required {
			return engine.Invalid("body", "a JSON body is required")
		}
		return nil
	}
	if err := engine.CheckJSONKeys(data, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if rule&bodyNumbers != 0 {
		dec.UseNumber()
	}
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	switch _, err := dec.Token(); {
	case err == nil:
		return engine.Invalid("body", "must hold one JSON value, but more follows it")
	case !errors.Is(err, io.EOF):
		return decodeError(err)
	}
	return nil
}

// decodeError turns an encoding/json error into an error naming the field.
func decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return engine.Invalid("body", "a JSON body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return engine.Invalid("body", "the JSON ends too early")
	case errors.As(err, &se):
		return engine.Invalid("body", "malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return engine.Invalid(field, "must be %s, not %s", jsonKind(te.Type), te.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unquoted, uerr := strconv.Unquote(name); uerr == nil {
			name = unquoted
		}
		return engine.Invalid(name, "is not a known field")
	}
	return engine.Invalid("body", "could not be read: %v", err)
}

// jsonKind names the JSON type a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a JSON value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a JSON value"
}

// checkID returns a *engine.FieldError unless id is a valid id (API.md).
func checkID(field, id string) error {
	if id == "" {
		return engine.Invalid(field, "is required")
	}
	if !engine.ValidID(id) {
		return engine.Invalid(field, idRule)
	}
	return nil
}

// checkIDs checks every id of a list, naming the bad one's index.
func checkIDs(field string, ids []string) error {
	for i, id := range ids {
		if err := checkID(field+"["+strconv.Itoa(i)+"]", id); err != nil {
			return err
		}
	}
	return nil
}

// pathID reads the path parameter name as an id.
func pathID(c *gin.Context, name string) (string, error) {
	id := c.Param(name)
	return id, checkID(name, id)
}

// checkQuery refuses a query string naming a parameter twice (a proxy may
// read the last where gatehouse reads the first) or a parameter the
// endpoint does not know, such as "Status" for "status" (R44).
func checkQuery(c *gin.Context, known ...string) error {
	for name, values := range c.Request.URL.Query() {
		if !slices.Contains(known, name) {
			if len(known) == 0 {
				return engine.Invalid(name, "is not a known query parameter: this endpoint takes none")
			}
			return engine.Invalid(name, "is not a known query parameter: this endpoint takes %s (names are case-sensitive)",
				strings.Join(known, ", "))
		}
		if len(values) > 1 {
			return engine.Invalid(name, "is given %d times: give each query parameter at most once", len(values))
		}
	}
	return nil
}

// queryID reads an id from the query string; absent is "" unless required.
func queryID(c *gin.Context, name string, required bool) (string, error) {
	id, ok := c.GetQuery(name)
	if !ok && !required {
		return "", nil
	}
	return id, checkID(name, id)
}

// Page sizes of the listing endpoints.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// queryLimit reads the page size of a listing.
func queryLimit(c *gin.Context) (int, error) {
	raw, ok := c.GetQuery("limit")
	if !ok {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, engine.Invalid("limit", "must be an integer from 1 to %d", maxPageSize)
	}
	return n, nil
}

// queryCursor reads an opaque "after" cursor, bounded in size.
func queryCursor(c *gin.Context) (string, error) {
	after := c.Query("after")
	if len(after) > 256 {
		return "", engine.Invalid("after", "is not a cursor this API returned")
	}
	return after, nil
}

// rfc3339 is RFC 3339's date-time grammar (section 5.6): two-digit month,
// day, hour, minute and second, an optional fraction, Z or an offset.
var rfc3339 = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`)

// parseTime parses an optional RFC 3339 time, strictly: time.Parse (and
// Time.UnmarshalText) also take forms RFC 3339 does not, such as a
// one-digit hour ("T0:00:00Z"), which a proxy or client reading the same
// body may refuse or read differently (R44).
func parseTime(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil || !rfc3339.MatchString(*s) {
		return nil, engine.Invalid(field, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	return &t, nil
}
