module github.com/backoffice-go/backoffice/bench

go 1.26.0

require (
	github.com/backoffice-go/backoffice v0.0.0
	github.com/casbin/casbin/v2 v2.135.0
)

require (
	github.com/bmatcuk/doublestar/v4 v4.10.4 // indirect
	github.com/casbin/govaluate v1.3.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/backoffice-go/backoffice => ../
