package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// An access request goes from a user to the account's admin, who approves
// it; the policy decides both commands and the decision endpoint then
// allows the new member.
func ExampleEngine_Approve() {
	dir, err := os.MkdirTemp("", "gatehouse-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	store, err := embedded.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	ctx := context.Background()
	files, err := engine.ReadPolicyFiles(policies.FS())
	if err != nil {
		fmt.Println(err)
		return
	}
	policy, err := engine.CompilePolicy(ctx, files, "built-in")
	if err != nil {
		fmt.Println(err)
		return
	}
	e, err := engine.New(store, policy, engine.WithSystemAdmins("ops"), engine.WithDecisionTimeout(testDecisionTimeout))
	if err != nil {
		fmt.Println(err)
		return
	}

	// An operator creates the users and the account, and names its admin (R32).
	for _, id := range []string{"alice", "carol"} {
		if _, _, err := e.PutUser(ctx, "ops", engine.User{ID: id, Email: id + "@example.com"}); err != nil {
			fmt.Println(err)
			return
		}
	}
	if _, _, err := e.PutAccount(ctx, "ops", engine.Account{ID: "acme", Name: "Acme"}); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := e.SetMember(ctx, "ops", engine.Membership{Account: "acme", User: "alice", Roles: []string{"account_admin"}}); err != nil {
		fmt.Println(err)
		return
	}

	r, err := e.RequestAccess(ctx, "carol", "acme", "I run the lab")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = e.Approve(ctx, "carol", r.ID, engine.Approval{Scope: "account", Role: "account_admin"})
	fmt.Println("carol approves her own request, forbidden:", errors.Is(err, engine.ErrForbidden))

	granted, err := e.Approve(ctx, "alice", r.ID, engine.Approval{Scope: "account", Role: "account_user"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status:", granted.Status, "decided by", granted.DecidedBy)

	d := e.Decide(ctx, engine.DecisionRequest{Subject: "carol", Action: "use", Resource: engine.Resource{Account: "acme"}})
	fmt.Println("carol may use acme:", d.Allow)

	_, err = e.Deny(ctx, "alice", r.ID, engine.Denial{ReasonCode: "other"})
	fmt.Println("deciding it again, conflict:", errors.Is(err, engine.ErrConflict))
	// Output:
	// carol approves her own request, forbidden: true
	// status: granted decided by alice
	// carol may use acme: true
	// deciding it again, conflict: true
}
