package engine_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

type keysInner struct {
	Account string `json:"account"`
}

type keysEmbedded struct {
	Promoted string `json:"promoted"`
}

type keysTree struct {
	keysEmbedded
	Name     string            `json:"name"`
	Inner    *keysInner        `json:"inner"`
	Items    []keysInner       `json:"items"`
	Labels   map[string]string `json:"labels"`
	Free     any               `json:"free"`
	Raw      json.RawMessage   `json:"raw"`
	At       time.Time         `json:"at"`
	Children []keysTree        `json:"children"`
	Skipped  string            `json:"-"`
	GoName   string
}

// R44: CheckJSONKeys refuses a key given twice at any depth and, where the
// value decodes into a struct, any key that is not a field name spelled
// exactly; the error names the key's path.
func TestCheckJSONKeysR44(t *testing.T) {
	many := func(n int, dup string) string {
		parts := make([]string, 0, n+1)
		for i := range n {
			parts = append(parts, fmt.Sprintf("%q:%d", fmt.Sprintf("k%d", i), i))
		}
		if dup != "" {
			parts = append(parts, fmt.Sprintf("%q:0", dup))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	tests := []struct {
		name, data string
		field      string // "" when accepted
		message    string
	}{
		{"plain", `{"name":"a","inner":{"account":"x"},"items":[{"account":"y"}],"labels":{"a":"1","A":"2"}}`, "", ""},
		{"empty values", `{"name":"","inner":null,"items":[],"labels":{},"free":{}}`, "", ""},
		{"top-level key twice", `{"name":"a","name":"b"}`, "name", "is given twice"},
		{"escaped key twice", `{"name":"a","n\u0061me":"b"}`, "name", "is given twice"},
		{"case variant", `{"Name":"a"}`, "Name", `did you mean "name"?`},
		{"unicode fold variant", `{"ſ":1,"name":"a"}`, "\"ſ\"", "is not a known field"},
		{"unknown field", `{"nope":1}`, "nope", "is not a known field"},
		{"skipped field", `{"Skipped":"x"}`, "Skipped", "is not a known field"},
		{"Go field name", `{"GoName":"x"}`, "", ""},
		{"promoted field", `{"promoted":"x"}`, "", ""},
		{"promoted field twice", `{"promoted":"x","promoted":"y"}`, "promoted", "is given twice"},
		{"nested struct", `{"inner":{"account":"a","account":"b"}}`, "inner.account", "is given twice"},
		{"nested case variant", `{"inner":{"ACCOUNT":"a"}}`, "inner.ACCOUNT", "did you mean"},
		{"array item", `{"items":[{"account":"a"},{"Account":"b"}]}`, "items[1].Account", "did you mean"},
		{"map key twice", `{"labels":{"a":"1","a":"2"}}`, "labels.a", "is given twice"},
		{"free-form deep", `{"free":{"x":[1,{"y":{"z":1,"z":2}}]}}`, "free.x[1].y.z", "is given twice"},
		{"raw message", `{"raw":{"a":1,"a":2}}`, "raw.a", "is given twice"},
		{"recursive type", `{"children":[{"children":[{"name":"a","Name":"b"}]}]}`, "children[0].children[0].Name", "did you mean"},
		{"odd key quoted", `{"free":{"a b":1,"a b":2}}`, `free."a b"`, "is given twice"},
		{"many keys", `{"free":` + many(100, "") + `}`, "", ""},
		{"many keys, one twice", `{"free":` + many(100, "k57") + `}`, "free.k57", "is given twice"},
		{"malformed is left to the decoder", `{"name":"a",`, "", ""},
		{"not an object", `[1,2]`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := engine.CheckJSONKeys([]byte(tt.data), &keysTree{})
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var fe *engine.FieldError
			require.ErrorAs(t, err, &fe)
			require.ErrorIs(t, err, engine.ErrInvalid)
			assert.Equal(t, tt.field, fe.Field)
			assert.Contains(t, fe.Message, tt.message)
		})
	}

	t.Run("invalid UTF-8 keys that decode alike", func(t *testing.T) {
		err := engine.CheckJSONKeys([]byte("{\"\xff\":1,\"\xfe\":2}"), nil)
		require.ErrorIs(t, err, engine.ErrInvalid, "both decode to U+FFFD")
	})
	t.Run("free-form keeps case variants apart", func(t *testing.T) {
		require.NoError(t, engine.CheckJSONKeys([]byte(`{"a":1,"A":2}`), nil))
	})
	t.Run("deep nesting ends", func(t *testing.T) {
		deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
		require.NoError(t, engine.CheckJSONKeys([]byte(deep), nil), "left to the decoder, which refuses it")
	})
}

// R44: policy data files holding a key twice are refused, naming the key:
// the last value would otherwise win silently.
func TestPolicyDataWithAKeyTwiceIsRefusedR44(t *testing.T) {
	files := map[string][]byte{
		"p.rego":    []byte("package gatehouse.decision\n\nresult := {\"allow\": false}\n"),
		"data.json": []byte(`{"gatehouse":{"config":{"max_secondary_contacts":4,"max_secondary_contacts":400}}}`),
	}
	_, err := engine.CompilePolicy(t.Context(), files, "test")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gatehouse.config.max_secondary_contacts: is given twice")
}

func BenchmarkCheckJSONKeys(b *testing.B) {
	body := []byte(`{"subject":"alice","action":"use","resource":{"account":"acme","virtual_account":"va1"},"context":{"ip":"10.0.0.1"}}`)
	var v struct {
		Subject  string `json:"subject"`
		Action   string `json:"action"`
		Resource struct {
			Account        string `json:"account"`
			VirtualAccount string `json:"virtual_account"`
		} `json:"resource"`
		Context map[string]any `json:"context"`
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := engine.CheckJSONKeys(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}
