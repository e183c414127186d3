package main

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
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
	s := startBinary(t, []string{"-postgres", testserver.Schema(t), "-policy", "pci-dss-4.0", "-approver-min-age", "0s", "-demo"},
		"BACKOFFICE_TENANT=acme", "BACKOFFICE_INTERNAL_SECRET="+secretHdr)
	// The demo's operators are made by the host, one per role: none holds
	// another's keys, so each may decide another's requests (F4).
	m := regexp.MustCompile(`share the password (\S+)`).FindStringSubmatch(s.log())
	require.NotNil(t, m, s.log())
	demoPW := m[1]
	c := &client{t: t, base: s.base, http: http.DefaultClient, secret: secretHdr, contract: newContract(t)}
	secrets := map[string]string{}
	admin := c.login("acme", "demo_admin", demoPW, secrets, 0)
	p := c.must(200, c.do("GET", "/v1/policy", admin, nil))
	assert.Equal(t, "pci-dss-4.0", p.str("name"))
	assert.EqualValues(t, 15*time.Minute, p.body["idle_timeout"])

	managers := map[string]string{"ann": c.login("acme", "demo_user_management", demoPW, secrets, 0), "bob": c.login("acme", "demo_manager", demoPW, secrets, 0)}
	me := c.must(200, c.do("GET", "/v1/operators?limit=20", admin, nil))
	for _, o := range me.items() {
		if o["username"] == "demo_user_management" {
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

	// T2 and F4: the read-only operator asks for Administrator for two
	// hours: Bob, a Manager, may not approve an Administrator-level
	// effect; the Administrator does. Bob's own request is not approved
	// by an account Bob just made, but by the Administrator.
	ro := c.login("acme", "demo_read_only", demoPW, secrets, 0)
	c.must(422, c.do("POST", "/v1/me/elevation", ro, map[string]any{"role": "administrator", "duration": "9h", "reason": "incident"}))
	el := c.must(201, c.do("POST", "/v1/me/elevation", ro, map[string]any{"role": "administrator", "duration": "2h", "reason": "incident 12"}))
	assert.Equal(t, true, el.body["admin_level"])
	elSeen := map[string]any{"effect_digest": el.str("effect_digest")}
	c.must(403, c.do("POST", "/v1/approvals/"+el.str("id")+"/approve", managers["bob"], elSeen))
	c.must(200, c.do("POST", "/v1/approvals/"+el.str("id")+"/approve", admin, elSeen))
	assert.Equal(t, true, c.must(200, c.do("GET", "/v1/me", c.login("acme", "demo_read_only", demoPW, secrets, 1), nil)).body["administrator"])

	c.must(201, c.do("POST", "/v1/operators", managers["bob"], map[string]any{"username": "sock", "email": "sock@acme.test", "first_name": "S",
		"last_name": "P", "roles": []string{"manager"}, "all_accounts": true, "password": managerPW, "password_confirmation": managerPW}))
	sock := c.login("acme", "sock", managerPW, secrets, 0)
	mine := c.must(201, c.do("POST", "/v1/me/elevation", managers["bob"], map[string]any{"role": "transfer_management", "duration": "1h", "reason": "payouts"}))
	mineSeen := map[string]any{"effect_digest": mine.str("effect_digest")}
	c.must(403, c.do("POST", "/v1/approvals/"+mine.str("id")+"/approve", sock, mineSeen))
	c.must(200, c.do("POST", "/v1/approvals/"+mine.str("id")+"/approve", admin, mineSeen))
	bob := c.login("acme", "demo_manager", demoPW, secrets, 1)
	assert.Contains(t, c.must(200, c.do("GET", "/v1/me", bob, nil)).body["roles"], "transfer_management")

	// V1: a review of every operator, decided and exported.
	rev := c.must(201, c.do("POST", "/v1/reviews", admin, map[string]any{"name": "Q4", "due_at": time.Now().Add(14 * 24 * time.Hour)}))
	lines, _ := rev.body["lines"].([]any)
	require.Len(t, lines, 10, "the demo's nine operators and Bob's")
	for _, l := range lines {
		id := l.(map[string]any)["operator"].(string)
		decider := admin
		if strings.HasPrefix(l.(map[string]any)["email"].(string), "demo_admin@") {
			decider = bob
		}
		c.must(200, c.do("POST", "/v1/reviews/"+rev.str("id")+"/decisions", decider, map[string]any{"operator": id, "decision": "certified"}))
	}
	st := c.must(200, c.do("GET", "/v1/reviews/status", admin, nil))
	assert.Equal(t, false, st.body["due"])
	raw := c.must(200, c.do("GET", "/v1/reviews/"+rev.str("id")+"/csv", admin, nil))
	assert.Equal(t, "text/csv; charset=utf-8", raw.header.Get("Content-Type"))
	rows, err := csv.NewReader(strings.NewReader(string(raw.raw))).ReadAll()
	require.NoError(t, err)
	assert.Len(t, rows, 11)

	assert.Empty(t, c.must(200, c.do("GET", "/v1/operators/dormant", admin, nil)).items())
	v := c.must(200, c.do("GET", "/v1/audit/verify", admin, nil))
	assert.Nil(t, v.body["break"], "H2: the chain holds")
}
