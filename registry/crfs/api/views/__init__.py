"""API views of the crfs app: patients, the generated form-family views, and reference/findings lists."""
