package console

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
)

// Passkeys in the console (W1, W2): the script (static/passkey.js) runs
// the browser's side of each ceremony against these JSON endpoints; the
// login's challenge and the session stay in this site's HttpOnly cookies.

// passkeyAnswer is what the script posts back.
type passkeyAnswer struct {
	Ceremony backoffice.Secret `json:"ceremony"`
	Name     string            `json:"name"`
	Response json.RawMessage   `json:"response"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeCeremony hands the script a ceremony's options and token.
func writeCeremony(w http.ResponseWriter, c *accessctl.PasskeyCeremony, err error) {
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "A passkey cannot be used for this now."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"options": c.Options, "ceremony": string(c.Ceremony), "registration": c.Registration})
}

func readAnswer(r *http.Request) (passkeyAnswer, error) {
	var a passkeyAnswer
	err := json.NewDecoder(r.Body).Decode(&a)
	return a, err
}

// signedInJSON sets the session cookie of a completed login.
func (c *Console) signedInJSON(w http.ResponseWriter, r *http.Request, res *accessctl.LoginResult, err error) {
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "The passkey was not accepted; log in again."})
		return
	}
	c.setCookie(w, r, challengeCookie, "", -1)
	c.setCookie(w, r, sessionCookie, string(res.Session), int(res.ExpiresAt.Sub(c.cfg.Now()).Seconds()))
	writeJSON(w, http.StatusOK, map[string]string{"redirect": c.cfg.Prefix + "/users"})
}

// passkeyStepBegin starts the passkey step of a login, after its password.
func (c *Console) passkeyStepBegin(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(challengeCookie)
	if err != nil {
		writeCeremony(w, nil, err)
		return
	}
	if c.limited(w, r, "code", "", loginForm{}) {
		return
	}
	cer, err := c.nop(c.cfg.Ops.BeginPasskeyLogin(r.Context(), backoffice.Secret(ck.Value)))
	writeCeremony(w, cer, err)
}

func (c *Console) passkeyStepFinish(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(challengeCookie)
	a, aerr := readAnswer(r)
	if err != nil || aerr != nil {
		c.signedInJSON(w, r, nil, errors.Join(err, aerr))
		return
	}
	res, err := c.cfg.Ops.CompletePasskeyLogin(r.Context(), backoffice.Secret(ck.Value), a.Ceremony, a.Name, a.Response)
	c.signedInJSON(w, r, res, err)
}

// passkeyAloneBegin starts a sign-in with a passkey alone.
func (c *Console) passkeyAloneBegin(w http.ResponseWriter, r *http.Request) {
	if c.limited(w, r, "login", "", loginForm{}) {
		return
	}
	tenant, _ := c.tenant(r)
	cer, err := c.nop(c.cfg.Ops.BeginPasskeySignIn(r.Context(), tenant))
	writeCeremony(w, cer, err)
}

func (c *Console) passkeyAloneFinish(w http.ResponseWriter, r *http.Request) {
	a, err := readAnswer(r)
	if err != nil {
		c.signedInJSON(w, r, nil, err)
		return
	}
	res, err := c.cfg.Ops.FinishPasskeySignIn(r.Context(), a.Ceremony, a.Response)
	c.signedInJSON(w, r, res, err)
}

// nop logs why a ceremony could not start, which the page does not say.
func (c *Console) nop(cer *accessctl.PasskeyCeremony, err error) (*accessctl.PasskeyCeremony, error) {
	if err != nil && !errors.Is(err, backoffice.ErrUnauthenticated) {
		c.cfg.Log.Warn("console: passkey ceremony", "err", err)
	}
	return cer, err
}

// passkeyRegisterBegin starts adding a passkey to the operator's own
// account.
func (c *Console) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	cer, err := c.cfg.Ops.BeginPasskeyRegistration(r.Context())
	if errors.Is(err, backoffice.ErrForbidden) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "Log out and in again: adding a passkey needs a login of the last five minutes."})
		return
	}
	cer, err = c.nop(cer, err)
	writeCeremony(w, cer, err)
}

func (c *Console) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	a, err := readAnswer(r)
	if err == nil {
		_, err = c.cfg.Ops.FinishPasskeyRegistration(r.Context(), a.Ceremony, a.Name, a.Response)
	}
	if err != nil {
		msg, _ := fieldErrors(err, map[string]string{})
		if msg == "" {
			msg = "The passkey was not registered; try again."
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": msg})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{})
}

// revokePasskey removes one of an operator's passkeys.
func (c *Console) revokePasskey(w http.ResponseWriter, r *http.Request) {
	id := accessctl.OperatorID(r.PathValue("id"))
	if err := c.cfg.Ops.RevokePasskey(r.Context(), id, r.PathValue("passkey")); err != nil {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/operators/"+string(id))
}
