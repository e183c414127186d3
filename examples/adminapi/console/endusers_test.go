package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The profile board's forms: create a user, edit its profile, KYC review
// and outcome, tax residences, the forgot-password email, deactivation.
// Each refusal shows the form again with what was typed and the reason
// next to the field.
func TestEndUserForms(t *testing.T) {
	e := newEnv(t)
	c := e.browser(t)
	e.login(t, c, "manager")

	form := url.Values{"type": {"physical_person"}, "first_name": {"Katherine"}, "last_name": {"Johnson"}, "email": {"kj@"}}
	resp, body := e.post(t, c, "/users", form)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, `value="kj@" aria-invalid="true"`)
	assert.Contains(t, body, `id="error-email"`)
	assert.Contains(t, body, `value="Katherine"`)
	form.Set("email", "kj@example.test")
	resp, body = e.post(t, c, "/users", form)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	user := resp.Request.URL.Path
	assert.Contains(t, body, "Katherine Johnson")

	resp, body = e.post(t, c, user+"/profile", url.Values{"version": {version(t, body)}, "first_name": {"Katherine"},
		"last_name": {"Johnson"}, "email": {"no-at-sign"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, `value="no-at-sign" aria-invalid="true"`)
	assert.Contains(t, body, "<details open>")
	resp, body = e.post(t, c, user+"/profile", url.Values{"version": {version(t, body)}, "first_name": {"Kate"},
		"last_name": {"Johnson"}, "email": {"kate@example.test"}, "phone": {"+33612345678"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "kate@example.test")

	_, body = e.get(t, c, user+"?tab=kyc")
	resp, body = e.post(t, c, user+"/kyc_request", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `id="kyc-status">pending<`)
	resp, body = e.post(t, c, user+"/kyc_outcome", url.Values{"version": {version(t, body)}, "outcome": {"validated"}, "note": {"passport seen"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `id="kyc-status">validated<`)

	_, body = e.get(t, c, user+"?tab=tax")
	resp, body = e.post(t, c, user+"/tax_add", url.Values{"version": {version(t, body)}, "country": {"US"}, "tin": {""}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Contains(t, body, `value="US"`)
	assert.Regexp(t, `class="field-error" id="error-[a-z_.\[\]0-9]*tin`, body)
	resp, body = e.post(t, c, user+"/tax_add", url.Values{"version": {version(t, body)}, "country": {"fr"}, "tin": {"1234567890123"}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "<td>FR</td>")
	residence := regexp.MustCompile(`name="residence" value="([^"]+)"`).FindStringSubmatch(body)
	require.NotNil(t, residence)
	resp, body = e.post(t, c, user+"/tax_remove", url.Values{"version": {version(t, body)}, "residence": {residence[1]}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "No tax residence declared.")

	_, body = e.get(t, c, user)
	resp, body = e.post(t, c, user+"/forgot_password", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.NotEmpty(t, e.k.Outbox.EndUserNotices(), "the email was sent")
	resp, body = e.post(t, c, user+"/deactivate", url.Values{"version": {version(t, body)}})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `class="status-canceled"`)
	assert.NotContains(t, body, `id="save-profile"`, "a canceled user cannot change")
}
