// Package bridge joins the public socket package to the code behind it
// without the public types showing their insides. Package socket sets these
// functions when it is initialised; the socket core and the socket types
// call them.
package bridge
