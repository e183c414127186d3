// Package enduser is the platform's customers as the back office sees
// them: physical persons, businesses, non-governmental and governmental
// organisations.
//
// Operators search users by id, tag, email or name (part of a word of
// the first, last or legal name or the email, in any case), list them
// newest first with filters by type, status and creation date, edit
// them with validation, declare their tax residences (ISO 3166-1
// countries; a US residence needs a well-formed TIN), review their
// KYC through checked transitions, send them the host's
// forgot-password email unless the tenant switched it off, and link
// children to a parent without cycles or tenant crossings.
//
// Deactivation needs a Validated user whose wallets, as the host's
// Balances reports them, are all empty; it sets the status Canceled, for
// good. Nothing deletes an end user: regulation wants them kept, and the
// package offers no way to.
//
// Users who onboard themselves are recorded as an Onboarding with an
// activation link; following it creates the user, which then has its user
// id and becomes searchable. Onboardings lists the completed and the
// uncompleted ones.
//
// Every operation needs the actor of accessctl and its permission, writes
// an audit entry with the change, and stays within the actor's tenant.
// The permissions are part of accessctl's catalog and presets (see
// accessctl/PERMISSIONS.md). Store lists what an adapter implements.
package enduser
