"""The stack's front door: Istio's gateway (`gateway.py`) behind one load balancer (`loadbalancer.py`),
HTTPS with a certificate from cert-manager (`certificates.py`) as `tls.py` describes.

Empty on purpose: `tls.py` is pure data that the exporters import without loading Pulumi.
"""
