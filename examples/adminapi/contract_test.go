package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"github.com/backoffice-go/backoffice/examples/adminapi/jsonapi"
)

// contract checks requests and responses against /openapi.json, so that
// the document cannot drift from the code: every request an end-to-end
// test sends and every answer it gets must be what the document says.
type contract struct {
	router routers.Router
}

var (
	contractOnce sync.Once
	theContract  *contract
)

// sharedContract is the contract every client checks its exchanges with.
func sharedContract(t testing.TB) *contract {
	contractOnce.Do(func() { theContract = newContract(t) })
	return theContract
}

func newContract(t testing.TB) *contract {
	t.Helper()
	raw, err := json.Marshal(jsonapi.OpenAPI(""))
	require.NoError(t, err)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(loader.Context), "the document itself is valid")
	r, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)
	return &contract{router: r}
}

// check validates one exchange; body and respBody are the raw bodies.
func (k *contract) check(t testing.TB, req *http.Request, body []byte, status int, header http.Header, respBody []byte) {
	t.Helper()
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := k.router.FindRoute(vreq)
	if err != nil {
		require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, status,
			"%s %s is not in the document: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if status < 400 { // a request the server refused may well break the contract: that is why it was refused
		require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "request %s %s", req.Method, req.URL)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}}
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), out), "response %d to %s %s: %s", status, req.Method, req.URL, respBody)
}
