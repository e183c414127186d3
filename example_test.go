package backoffice_test

import (
	"errors"
	"fmt"

	"github.com/backoffice-go/backoffice"
)

// Whatever package returned it, an error is tested against the shared
// kinds, and an invalid input names every bad field.
func ExampleError() {
	var v backoffice.Violations
	v.Add("email", "must be an email address")
	v.Add("last_name", "is required")
	err := fmt.Errorf("creating a user: %w", v.Err("enduser: create"))
	fmt.Println(errors.Is(err, backoffice.ErrInvalid), backoffice.FieldsOf(err))
	fmt.Println(err)
	// Output:
	// true [email last_name]
	// creating a user: enduser: create: invalid input: correct the listed fields and retry (email: must be an email address; last_name: is required)
}

// A listing fetches one item more than the page, so it knows whether
// there is a next page; the cursor is opaque to the client.
func ExampleMakePage() {
	items := []string{"c", "b", "a"}
	page := backoffice.MakePage(items, 2, func(s string) string { return s })
	_, key, err := backoffice.DecodeCursor("example", backoffice.PageRequest{Cursor: page.Next})
	fmt.Println(page.Items, key, err)
	// Output:
	// [c b] b <nil>
}

// A Secret never prints its value.
func ExampleSecret() {
	s := backoffice.Secret("hunter2")
	fmt.Println(s, fmt.Sprintf("%v %q %#v", s, s, s))
	// Output:
	// [redacted] [redacted] [redacted] [redacted]
}
