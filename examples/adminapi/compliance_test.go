package main

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/internal/testserver"
)

// The PCI DSS v4.0 features over HTTP, on the real binary with
// -policy pci-dss-4.0 and PostgreSQL: the policy, four-eyes approval of
// an end user's deactivation (F1-F3), a break-glass elevation (T2), an
// access review exported as CSV (V1), the dormant list (P5) and the
// audit chain's verification (H2).
func TestCompliancePCIPolicy(t *testing.T) {
	s := startBinary(t, []string{"-postgres", testserver.Schema(t), "-policy", "pci-dss-4.0", "-approver-min-age", "0s"},
		"BACKOFFICE_ADMIN_EMAIL=root@acme.test", "BACKOFFICE_ADMIN_USERNAME=root", "BACKOFFICE_ADMIN_PASSWORD="+adminPW,
		"BACKOFFICE_TENANT=acme", "BACKOFFICE_INTERNAL_SECRET="+secretHdr)
	c := &client{t: t, base: s.base, http: http.DefaultClient, secret: secretHdr, contract: newContract(t)}
	secrets := map[string]string{}
	admin := c.login("acme", "root", adminPW, secrets, 0)
	p := c.must(200, c.do("GET", "/v1/policy", admin, nil))
	assert.Equal(t, "pci-dss-4.0", p.str("name"))
	assert.EqualValues(t, 15*time.Minute, p.body["idle_timeout"])

	managers := map[string]string{}
	for _, name := range []string{"ann", "bob"} {
		c.must(201, c.do("POST", "/v1/operators", admin, map[string]any{"username": name, "email": name + "@acme.test", "first_name": name,
			"last_name": "M", "roles": []string{"manager"}, "all_accounts": true, "password": managerPW, "password_confirmation": managerPW}))
		managers[name] = c.login("acme", name, managerPW, secrets, 0)
	}
	me := c.must(200, c.do("GET", "/v1/operators?limit=10", admin, nil))
	for _, o := range me.items() {
		if o["username"] == "ann" {
			assert.Equal(t, "127.0.0.1", o["last_login_from"], "P5: the login's source is recorded")
		}
	}

	// F1-F3: Ann's deactivation of an end user waits for Bob.
	u := c.must(201, c.do("POST", "/v1/endusers", admin, map[string]any{"type": "physical_person", "first_name": "Jo", "last_name": "Doe",
		"email": "jo@example.com"}))
	u = c.must(200, c.do("POST", "/v1/endusers/"+u.str("id")+"/kyc/review", admin, map[string]any{"version": u.num("version")}))
	u = c.must(200, c.do("POST", "/v1/endusers/"+u.str("id")+"/kyc/outcome", admin, map[string]any{"version": u.num("version"), "outcome": "validated"}))
	held := c.must(409, c.do("POST", "/v1/endusers/"+u.str("id")+"/deactivate", managers["ann"], map[string]any{"version": u.num("version")}))
	assert.Contains(t, held.str("detail"), "approval")
	ap := c.must(201, c.do("POST", "/v1/approvals", managers["ann"], map[string]any{"action": "enduser.deactivate", "target_type": "enduser",
		"target_id": u.str("id"), "params": map[string]string{"version": fmt.Sprint(u.num("version"))}, "reason": "customer closed the account"}))
	assert.Equal(t, "pending", ap.str("status"))
	seen := map[string]any{"effect_digest": ap.str("effect_digest")}
	assert.Equal(t, []any{map[string]any{"field": "status", "before": "validated", "after": "canceled"}}, ap.body["effect"], "F6: what it will change")
	c.must(403, c.do("POST", "/v1/approvals/"+ap.str("id")+"/approve", managers["ann"], seen))
	c.must(409, c.do("POST", "/v1/approvals/"+ap.str("id")+"/approve", managers["bob"], map[string]any{"effect_digest": strings.Repeat("0", 64)}))
	done := c.must(200, c.do("POST", "/v1/approvals/"+ap.str("id")+"/approve", managers["bob"], seen))
	assert.Equal(t, "done", done.str("status"))
	c.must(409, c.do("POST", "/v1/approvals/"+ap.str("id")+"/approve", managers["bob"], seen))
	assert.Equal(t, "canceled", c.must(200, c.do("GET", "/v1/endusers/"+u.str("id"), admin, nil)).str("status"))
	list := c.must(200, c.do("GET", "/v1/approvals?status=done", admin, nil))
	require.Len(t, list.items(), 1)

	// T2: Bob asks for Administrator for two hours: root, which created
	// Bob's account, may not approve, nor Ann, no Administrator (F4); Ann
	// approves two hours of another role.
	c.must(422, c.do("POST", "/v1/me/elevation", managers["bob"], map[string]any{"role": "administrator", "duration": "9h", "reason": "incident"}))
	el := c.must(201, c.do("POST", "/v1/me/elevation", managers["bob"], map[string]any{"role": "administrator", "duration": "2h", "reason": "incident 12"}))
	elSeen := map[string]any{"effect_digest": el.str("effect_digest")}
	assert.Equal(t, true, el.body["admin_level"])
	c.must(403, c.do("POST", "/v1/approvals/"+el.str("id")+"/approve", admin, elSeen))           // F4: root created Bob's account
	c.must(403, c.do("POST", "/v1/approvals/"+el.str("id")+"/approve", managers["ann"], elSeen)) // F4: an Administrator-level effect
	el = c.must(201, c.do("POST", "/v1/me/elevation", managers["bob"], map[string]any{"role": "transfer_management", "duration": "2h", "reason": "incident 12"}))
	c.must(200, c.do("POST", "/v1/approvals/"+el.str("id")+"/approve", managers["ann"], map[string]any{"effect_digest": el.str("effect_digest")}))
	bob := c.login("acme", "bob", managerPW, secrets, 1)
	assert.Contains(t, c.must(200, c.do("GET", "/v1/me", bob, nil)).body["roles"], "transfer_management")

	// V1: a review of every operator, decided and exported.
	rev := c.must(201, c.do("POST", "/v1/reviews", admin, map[string]any{"name": "Q4", "due_at": time.Now().Add(14 * 24 * time.Hour)}))
	lines, _ := rev.body["lines"].([]any)
	require.Len(t, lines, 3)
	for _, l := range lines {
		id := l.(map[string]any)["operator"].(string)
		if l.(map[string]any)["name"] == "root R" || strings.HasPrefix(l.(map[string]any)["email"].(string), "root@") {
			c.must(200, c.do("POST", "/v1/reviews/"+rev.str("id")+"/decisions", bob, map[string]any{"operator": id, "decision": "certified"}))
			continue
		}
		c.must(200, c.do("POST", "/v1/reviews/"+rev.str("id")+"/decisions", admin, map[string]any{"operator": id, "decision": "certified"}))
	}
	st := c.must(200, c.do("GET", "/v1/reviews/status", admin, nil))
	assert.Equal(t, false, st.body["due"])
	raw := c.must(200, c.do("GET", "/v1/reviews/"+rev.str("id")+"/csv", admin, nil))
	assert.Equal(t, "text/csv; charset=utf-8", raw.header.Get("Content-Type"))
	rows, err := csv.NewReader(strings.NewReader(string(raw.raw))).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 4)

	assert.Empty(t, c.must(200, c.do("GET", "/v1/operators/dormant", admin, nil)).items())
	v := c.must(200, c.do("GET", "/v1/audit/verify", admin, nil))
	assert.Nil(t, v.body["break"], "H2: the chain holds")
}
