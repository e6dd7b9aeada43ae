package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// An application asks a decision; nobody is known yet, so it is a deny
// whose reasons say why (R7).
func ExampleNew() {
	dir, err := os.MkdirTemp("", "gatehouse-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := embedded.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	files, err := engine.ReadPolicyFiles(policies.FS())
	if err != nil {
		log.Fatal(err)
	}
	policy, err := engine.CompilePolicy(context.Background(), files, "built-in")
	if err != nil {
		log.Fatal(err)
	}
	eng, err := engine.New(store, policy, engine.WithDecisionTimeout(testDecisionTimeout))
	if err != nil {
		log.Fatal(err)
	}
	api := httpapi.New(eng)

	body := `{"subject": "alice", "action": "view", "resource": {"account": "acme"}}`
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/decisions", strings.NewReader(body)))

	var answer struct {
		Allow   bool     `json:"allow"`
		Reasons []string `json:"reasons"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
		log.Fatal(err)
	}
	fmt.Println(rec.Code, answer.Allow)
	for _, r := range answer.Reasons {
		fmt.Println(r)
	}
	// Output:
	// 200 false
	// unknown account "acme"
	// unknown subject "alice"
}
