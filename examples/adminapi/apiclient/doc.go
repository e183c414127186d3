// Package apiclient is a Go client of the example admin API, generated
// by oapi-codegen from its OpenAPI document (openapi.json, a snapshot of
// what the server serves at /openapi.json). The example's tests keep the
// snapshot equal to the document the code builds and drive the README's
// walk-through with this client; after a change of the API:
//
//	go test ./examples/adminapi -run TestOpenAPISnapshot -update
//	go generate ./examples/adminapi/apiclient
package apiclient

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config cfg.yaml openapi.json
