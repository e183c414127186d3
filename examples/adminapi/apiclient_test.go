package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice"
	"github.com/backoffice-go/backoffice/accessctl"
	"github.com/backoffice-go/backoffice/examples/adminapi/apiclient"
	"github.com/backoffice-go/backoffice/examples/adminapi/jsonapi"
)

var update = flag.Bool("update", false, "rewrite apiclient/openapi.json from the code's document")

const snapshot = "apiclient/openapi.json"

// The generated client's document is the one the code serves: when the
// API changes, -update rewrites it and go generate makes the client anew.
func TestOpenAPISnapshot(t *testing.T) {
	want, err := json.MarshalIndent(jsonapi.OpenAPI(""), "", "  ")
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(snapshot, append(want, '\n'), 0o644))
	}
	got, err := os.ReadFile(snapshot)
	require.NoError(t, err)
	var w, g any
	require.NoError(t, json.Unmarshal(want, &w))
	require.NoError(t, json.Unmarshal(got, &g))
	assert.True(t, reflect.DeepEqual(w, g),
		"apiclient/openapi.json is stale: go test ./examples/adminapi -run TestOpenAPISnapshot -update; go generate ./examples/adminapi/apiclient")
}

// The README's walk-through through the client oapi-codegen generated
// from the document: the setup token makes the first Administrator, who
// logs in with a password and a TOTP code and reads itself.
func TestGeneratedClientWalkthrough(t *testing.T) {
	a, closeAll, err := build(context.Background(), config{tenant: "default", tenantName: "Default", preset: "dashboard"}, io.Discard)
	require.NoError(t, err)
	t.Cleanup(closeAll)
	require.NotEmpty(t, a.setup, "no Administrator yet: a setup token was printed")
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	c, err := apiclient.NewClientWithResponses(srv.URL)
	require.NoError(t, err)
	ctx := context.Background()
	str := func(s string) *string { return &s }

	setup, err := c.PostV1SetupWithResponse(ctx, apiclient.Setup{SetupToken: a.setup, Name: str("Acme"), Admin: apiclient.NewOperator{
		Username: str("ada"), Email: str("ada@acme.test"), FirstName: str("Ada"), LastName: str("Lovelace"),
		Password: str(adminPW), PasswordConfirmation: str(adminPW)}})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, setup.StatusCode(), string(setup.Body))

	login, err := c.PostV1LoginWithResponse(ctx, apiclient.Login{Tenant: str("default"), Login: "ada", Password: adminPW})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, login.StatusCode(), string(login.Body))
	require.NotNil(t, login.JSON200.Challenge)
	require.NotNil(t, login.JSON200.MfaEnrolment)
	secret := login.JSON200.MfaEnrolment.Secret
	code, err := accessctl.TOTPCode(backoffice.Secret(secret), time.Now())
	require.NoError(t, err)

	mfa, err := c.PostV1LoginMfaWithResponse(ctx, apiclient.MFA{Challenge: *login.JSON200.Challenge, Code: code})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, mfa.StatusCode(), string(mfa.Body))
	require.NotNil(t, mfa.JSON200.Session)
	bearer := func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+*mfa.JSON200.Session)
		return nil
	}
	me, err := c.GetV1MeWithResponse(ctx, bearer)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), string(me.Body))
	assert.Equal(t, "ada", me.JSON200.Name)
	assert.True(t, me.JSON200.Administrator)

	bad, err := c.PostV1LoginWithResponse(ctx, apiclient.Login{Tenant: str("default"), Login: "ada", Password: "Wrong-Password-1"})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, bad.StatusCode())
	require.NotNil(t, bad.ApplicationproblemJSONDefault, "a refusal is a problem document")
	assert.Equal(t, "https://backoffice.example/problems/unauthenticated", string(bad.ApplicationproblemJSONDefault.Type))
}
