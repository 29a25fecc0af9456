"""Core's request edge: sign-in and account pages, the user and audit admin pages, the auth, user and audit
JSON endpoints, their forms, and the server-side session store. ``blueprints.core.init_app`` imports them."""
