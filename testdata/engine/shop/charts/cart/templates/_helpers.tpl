{% component name(@Chart) %}{{ Chart.Name }}-sub{% endcomponent name %}
