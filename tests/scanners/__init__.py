"""Third-party scanners (Checkov, kubernetes-validate, parliament) over the offline plans."""
