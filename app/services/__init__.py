"""The service layer: what the admin API (and the operator console) can do, as functions over a link's engine or
the process. Routes only translate HTTP to these calls and their errors to status codes; nothing above this layer
builds a Redis key or calls a connector."""
