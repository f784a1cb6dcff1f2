"""The web lab's HTTP routes, one APIRouter per area: page (the page and API reference), runs, predict (predict
and explain), playground (the convolution playground) and jobs (training).  create_app includes them in that
order; they reach the server's run catalog, lab, job manager and settings through the dependencies in deps."""
