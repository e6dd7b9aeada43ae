package client_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// An application asks whether alice may manage the account acme.
func Example() {
	url, stop := startExampleGatehouse()
	defer stop()

	gh, err := client.New(url, client.WithRetries(3))
	if err != nil {
		log.Fatal(err)
	}
	d, err := gh.Decide(context.Background(), client.DecisionRequest{
		Subject:  "alice",
		Action:   "manage",
		Resource: client.Resource{Account: "acme"},
	})
	if err != nil {
		log.Fatal(err) // no answer: treat it as a deny
	}
	fmt.Println(d.Allow, d.Reasons)
	// Output: true [alice holds account_admin on acme (needed for manage)]
}

// startExampleGatehouse serves gatehouse in process, over an embedded
// store in a temporary directory where acme's admin is alice, and returns
// its URL and how to stop it. An application points at its own gatehouse
// instead.
func startExampleGatehouse() (string, func()) {
	dir, err := os.MkdirTemp("", "gatehouse-client-example")
	if err != nil {
		log.Fatal(err)
	}
	store, err := embedded.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	files, err := engine.ReadPolicyFiles(policies.FS())
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	policy, err := engine.CompilePolicy(ctx, files, "built-in")
	if err != nil {
		log.Fatal(err)
	}
	eng, err := engine.New(store, policy, engine.WithSystemAdmins("ops"), engine.WithDecisionTimeout(time.Minute),
		engine.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := eng.PutAccount(ctx, "ops", engine.Account{ID: "acme", Name: "Acme Corp"}); err != nil {
		log.Fatal(err)
	}
	if _, _, err := eng.PutUser(ctx, "ops", engine.User{ID: "alice", Email: "alice@acme.example"}); err != nil {
		log.Fatal(err)
	}
	if _, err := eng.SetMember(ctx, "ops", engine.Membership{Account: "acme", User: "alice",
		Roles: []string{"account_admin"}, Contact: "primary", Justification: "account owner"}); err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(eng, httpapi.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	return srv.URL, func() { srv.Close(); _ = store.Close(); _ = os.RemoveAll(dir) }
}
